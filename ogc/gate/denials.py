"""Denied requests, counted for the audit log (``layers.access.audit.DenialCounter``).

A refused credential (401/403/429 from the gate's middleware), a 401/403/429 a route raises,
a write the write guard refuses (``count_guard_refusal``), and a request for a layer the
caller may not see (``HiddenLayer``: a 404, or WMTS's 400 exception report, which its routes
answer themselves and count with ``count_error``) when the caller was identified are counted
per caller × path kind × status × hour, in memory; the key service's periodic flush writes
them. Nothing here runs for answered requests, so the anonymous hot path (cached public
tiles) never pays for it.
"""

from __future__ import annotations

from layers.access.caller import ANONYMOUS, Caller
from layers.access.service import AccessService
from layers.errors import OneMapError
from ogc.gate.caller import CALLER_KEY, REFUSAL_KEY, Refusal
from ogc.gate.visible import HiddenLayer
from ogc.http.asgi_types import Scope
from ogc.http.paths import route_path, service_of

DENIED_STATUSES = frozenset({401, 403, 429})


def path_kind(scope: Scope) -> str:
    """What a path is about, coarsely: its key service (tiles, features, processes) or the
    first path segment (admin, ingest, api…)."""
    path = route_path(scope)
    return service_of(path) or path.strip("/").split("/", 1)[0] or "landing"


def count_denial(
    keys: AccessService | None, scope: Scope, caller: Caller, status: int, reason: str
) -> None:
    if keys is None:  # not started (or stopped): nothing to count into
        return
    client = scope.get("client")
    address = client[0] if client else None
    keys.denials.count(caller, path_kind(scope), status, reason, address)


def count_error(keys: AccessService | None, scope: Scope, exc: OneMapError, status: int) -> None:
    """Count a route's error, answered with ``status``, if it denies: 401/403/429 for
    anyone, a hidden layer for an identified caller (an anonymous one is simply told the
    layer does not exist)."""
    caller = _caller_in(scope)
    if status in DENIED_STATUSES or (isinstance(exc, HiddenLayer) and not caller.is_anonymous):
        count_denial(keys, scope, caller, status, exc.message)


def count_guard_refusal(
    keys: AccessService | None, scope: Scope, exc: OneMapError, status: int
) -> None:
    """Count a write the write guard refused before any route ran — a cross-origin write
    (403), an upload refused before its body (403 for a caller who may publish nothing,
    413 for a declared size over the limit): each is a denied request."""
    count_denial(keys, scope, _caller_in(scope), status, exc.message)


def _caller_in(scope: Scope) -> Caller:
    """Who the gate found (or, for a refused credential, who it was about), else anonymous."""
    caller: Caller | None = scope.get(CALLER_KEY)
    if caller is None:
        refusal: Refusal | None = scope.get(REFUSAL_KEY)
        caller = refusal.attempted if refusal is not None else ANONYMOUS
    return caller
