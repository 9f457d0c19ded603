"""Writes over HTTP, audited: who, what, when, from where, with what outcome.

``audited`` wraps a write route's work: the work fills in what it did (layer, version,
detail) on the ``AuditNote`` it is given, and the row is recorded when it ends — ``ok``,
``denied`` for a refusal (403, and the 404 of a layer the caller may not see), ``failed``
for any other error, which then propagates unchanged. Recording never fails the request
(``layers.access.audit.record``). The client address is the one uvicorn hands the app:
the peer, or the forwarded client when the proxy is trusted (``proxy_headers``,
``FORWARDED_ALLOW_IPS``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request

from layers.access.audit import AuditEvent, Outcome, record
from layers.access.caller import Caller
from layers.errors import Forbidden, NotFound, OneMapError
from ogc.http.request_id import settle_request_id


@dataclass
class AuditNote:
    """What a write did, as its work learns it."""

    layer_id: str | None = None
    version: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def request_id(request: Request) -> str:
    """The request's one id (``ogc.http.request_id``: the client's when sane, else made)."""
    return settle_request_id(request.scope)


def outcome_of(error: BaseException) -> Outcome:
    return "denied" if isinstance(error, Forbidden | NotFound) else "failed"


@asynccontextmanager
async def audited(
    pool: AsyncConnectionPool,
    request: Request,
    caller: Caller,
    operation: str,
    layer_id: str | None = None,
    *,
    refusals_only: bool = False,
) -> AsyncIterator[AuditNote]:
    """Record ``operation`` by ``caller`` when the block ends, with its outcome (with
    ``refusals_only``, only when it fails: a check whose write is recorded elsewhere)."""
    note = AuditNote(layer_id=layer_id)
    outcome: Outcome = "ok"
    try:
        yield note
    except BaseException as exc:
        outcome = outcome_of(exc)
        message = exc.message if isinstance(exc, OneMapError) else type(exc).__name__
        note.detail["reason"] = message[:500]
        raise
    finally:
        if outcome != "ok" or not refusals_only:
            await _record(pool, request, caller, operation, outcome, note)


def event_for(
    request: Request, caller: Caller, operation: str, note: AuditNote, outcome: Outcome = "ok"
) -> AuditEvent:
    """The audit event of ``operation`` as the request and its note tell it (a write that
    records its own success in its transaction, as an ingest does, is handed this)."""
    return AuditEvent(
        operation=operation,
        actor=caller,
        outcome=outcome,
        layer_id=note.layer_id,
        version=note.version,
        request_id=request_id(request),
        client_addr=client_address(request),
        detail=note.detail,
    )


async def _record(
    pool: AsyncConnectionPool,
    request: Request,
    caller: Caller,
    operation: str,
    outcome: Outcome,
    note: AuditNote,
) -> None:
    await record(pool, event_for(request, caller, operation, note, outcome))
