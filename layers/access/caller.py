"""The caller of a request, as every access decision sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CallerKind = Literal["anonymous", "user", "key", "local"]
Role = Literal["government", "member", "publisher", "admin"]
PUBLIC_SCOPE = "public"  # the scope of everyone who sees only public data


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: nobody (anonymous), a signed-in user (OIDC token), an API key, or the
    local command line. ``departments`` and ``roles`` come from the identity provider's claims
    or the key's binding; ``areas`` are adcode prefixes a caller is limited to (empty: none)."""

    kind: CallerKind = "anonymous"
    subject: str | None = None  # the user id (token ``sub``), key id or local user name
    departments: frozenset[str] = frozenset()
    roles: frozenset[Role] = frozenset()
    areas: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"

    @property
    def scope(self) -> str:
        """What this caller can see, as a short stable string: the part of a cache key (tiles,
        ETags) that keeps one caller's responses from another's. Callers who see the same
        things share a scope; everyone who sees only public data shares ``"public"``."""
        if not self.roles:
            return PUBLIC_SCOPE
        roles = ",".join(sorted(self.roles))
        departments = ",".join(sorted(self.departments))
        areas = ",".join(self.areas)
        return f"{roles}|{departments}|{areas}"


ANONYMOUS = Caller()
