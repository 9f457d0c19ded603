"""The raw ASGI types the fast paths (tile cache hits, single features) are written against."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


class WireHeaders(list[tuple[bytes, bytes]]):
    """Response headers kept for many answers (a cached tile's), with their HTTP/1.1 lines
    built once: ``name: value\r\n`` each. Never changed after the first ``wire()``."""

    _wire: bytes | None = None

    def wire(self) -> bytes:
        if self._wire is None:
            self._wire = b"".join(b"%s: %s\r\n" % pair for pair in self)
        return self._wire


Ready = tuple[int, Headers, bytes]  # a whole answer (status, headers, body), sent at once
