"""The request log: one line per request (``ONEMAP_ACCESS_LOG``), on ``onemap.request``.

Its fields travel as the record's ``extra``, so the JSON formatter (``ogc.observe.logs``)
writes them as keys and the text formatter as a readable sentence. The path is logged
without its query string (an API key may ride in ``tk=``), and the caller as its kind and
subject (a user's id, a key's id) — never a credential.
"""

from __future__ import annotations

import logging

from layers.access.caller import ANONYMOUS, Caller
from ogc.gate.caller import CALLER_KEY, REFUSAL_KEY, Refusal
from ogc.http.asgi_types import Scope
from ogc.http.request_id import request_id_of

log = logging.getLogger("onemap.request")


class RequestLog:
    def write(self, scope: Scope, route: str, status: int, seconds: float) -> None:
        caller = caller_of(scope)
        fields = {
            "request_id": request_id_of(scope),
            "method": scope["method"],
            "route": route,
            "path": scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "caller_kind": caller.kind,
            "caller_subject": caller.subject,
        }
        log.info(
            "%s %s %d %.1f ms (%s, %s%s, %s)",
            fields["method"],
            fields["path"],
            status,
            seconds * 1000,
            route,
            caller.kind,
            f":{caller.subject}" if caller.subject else "",
            fields["request_id"],
            extra=fields,
        )


def caller_of(scope: Scope) -> Caller:
    """Who the gate found the caller to be — or who tried, when it refused them."""
    caller: Caller | None = scope.get(CALLER_KEY)
    if caller is not None:
        return caller
    refusal: Refusal | None = scope.get(REFUSAL_KEY)
    return refusal.attempted if refusal is not None else ANONYMOUS
