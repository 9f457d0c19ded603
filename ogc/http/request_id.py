"""A request's id: the client's ``X-Request-Id`` when it is sane, else one made here.

The request middleware (``ogc.observe.middleware``) settles it once, keeps it in the ASGI
scope and echoes it in the response; the request log, the slow-query log and the audit
(``ogc.common.audit``) read it from there, so one request has one id everywhere. A given
id is taken only when it is short and made of characters safe in a log line and a header
(a proxy's UUID, a trace id); anything else is replaced, not trimmed, so a log line can
never carry what a client smuggled into it.
"""

from __future__ import annotations

import itertools
import os
import re

from ogc.http.asgi_types import Scope

REQUEST_ID_HEADER = b"x-request-id"
REQUEST_ID_KEY = "onemap.request_id"  # where the scope keeps it
MAX_REQUEST_ID = 100
_SANE = re.compile(rb"[A-Za-z0-9._:/+=@-]{1,%d}" % MAX_REQUEST_ID)
# Made ids: this process's random prefix and a counter — unique without a syscall each.
_PREFIX = os.urandom(6).hex()
_NEXT = itertools.count(1)


def sane_request_id(given: bytes | None) -> str | None:
    """``given`` when it may serve as the request's id, else None."""
    if given is None or _SANE.fullmatch(given) is None:
        return None
    return given.decode("ascii")


def new_request_id() -> str:
    return f"{_PREFIX}-{next(_NEXT):x}"


def settle_request_id(scope: Scope) -> str:
    """The request's id, settled once and kept in its scope."""
    found: str | None = scope.get(REQUEST_ID_KEY)
    if found is None:
        given = next((v for k, v in scope["headers"] if k == REQUEST_ID_HEADER), None)
        found = sane_request_id(given) or new_request_id()
        scope[REQUEST_ID_KEY] = found
    return found


def request_id_of(scope: Scope) -> str | None:
    """The id ``settle_request_id`` gave the request (None: not settled, e.g. a test app
    without the middleware)."""
    found: str | None = scope.get(REQUEST_ID_KEY)
    return found
