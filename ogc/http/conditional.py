"""Weak ETags, If-None-Match and Accept negotiation, on plain strings."""

from __future__ import annotations

import hashlib


def weak_etag(*parts: str) -> str:
    """A weak tag of the parts (a layer version, a path, a query, a format, ...)."""
    key = "\x00".join(parts)
    return 'W/"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'


def matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match's weak comparison (RFC 9110 §13.1.2), ``*`` included."""
    wanted = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in wanted or etag.removeprefix("W/") in wanted


def first_accepted(accept: str, offered: dict[str, str], allowed: tuple[str, ...]) -> str | None:
    """The output of the first Accept media type in ``offered`` that is ``allowed``
    (in the header's order; q-values are not weighed)."""
    for part in accept.split(","):
        output = offered.get(part.split(";")[0].strip().lower())
        if output is not None and output in allowed:
            return output
    return None
