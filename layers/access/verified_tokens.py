"""Bearer tokens already verified, so a signed-in user's next requests — every tile of a map
view carries the same token — cost a hash and a lookup instead of a full verification (PyJWT
2.15 checks each base64 character in Python: ~0.3 ms per parse of a typical token, twice per
verification, plus the signature check).

An entry is only ever the result of the one verification, kept no longer than the token is
valid (``exp`` plus the clock skew, the rule PyJWT applied) nor than the key set lifetime,
and dropped when the key set is reloaded (a withdrawn key's tokens then fail afresh). Failures
are not remembered. Keys are SHA-256 digests, so the cache holds no usable token.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from layers.access.caller import Caller


@dataclass(frozen=True, slots=True)
class _Entry:
    caller: Caller
    valid_until: float  # wall-clock seconds, as the token's exp
    generation: int  # the key set it was verified against


class VerifiedTokens:
    """A bounded, least-recently-used map of token digest → caller."""

    def __init__(self, max_entries: int = 10_000, now: Callable[[], float] = time.time) -> None:
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._max_entries = max_entries
        self._now = now

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str, generation: int) -> Caller | None:
        digest = hashlib.sha256(token.encode()).digest()
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry.generation != generation or self._now() >= entry.valid_until:
            del self._entries[digest]
            return None
        self._entries.move_to_end(digest)
        return entry.caller

    def put(self, token: str, caller: Caller, valid_until: float, generation: int) -> None:
        digest = hashlib.sha256(token.encode()).digest()
        self._entries[digest] = _Entry(caller, valid_until, generation)
        self._entries.move_to_end(digest)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
