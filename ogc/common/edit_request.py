"""What every editing route does around its change (ADR 0013): the gate's writable layer
that is open for editing, the audited transaction, and the reload after it.

Shared by ``ogc.routers.items_write`` (Part 4) and ``ogc.routers.items_history``
(reverts), so both record, lock and reload the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request

from layers.access.audit import write_event
from layers.access.caller import Caller
from layers.catalog import Catalog, Layer
from layers.edit.errors import NotEditable
from layers.edit.revision import Preconditions
from layers.edit.store import Actor, EditSession, edit_session, not_editable
from layers.features.params import parse_feature_id
from ogc import deps
from ogc.common.audit import AuditNote, audited, event_for, request_id
from ogc.common.features import missing_feature
from ogc.gate.ownership import writable_layer

# The OpenAPI parameters of a conditional change: one is required for an existing
# feature (else 428).
CONDITIONAL = [
    {"name": name, "in": "header", "required": False, "schema": {"type": "string"}}
    for name in ("If-Match", "If-Unmodified-Since")
]


def editable_layer(catalog: Catalog, layer_id: str, caller: Caller) -> Layer:
    """The gate's answer (404 unseen, 403 not theirs), then the layer's own flag (405)."""
    layer = writable_layer(catalog, layer_id, caller)
    if not layer.editable or layer.kind != "vector":
        raise not_editable(layer_id)
    return layer


def feature_fid(layer: Layer, feature_id: str) -> int:
    """The path's feature id as the table's integer (else the unknown feature's 404)."""
    fid = parse_feature_id(feature_id)
    if fid is None:
        raise missing_feature(layer, feature_id)
    return fid


def preconditions_of(request: Request) -> Preconditions:
    return Preconditions(
        request.headers.get("if-match"), request.headers.get("if-unmodified-since")
    )


@asynccontextmanager
async def edit_transaction(
    request: Request, layer: Layer, caller: Caller, operation: str
) -> AsyncIterator[tuple[EditSession, AuditNote]]:
    """The edit's transaction; its audit event (``feature.<operation>``) commits with it,
    and a refusal met inside it (404, 412, 428) is recorded on its own (ADR 0011)."""
    if any(name in request.query_params for name in ("version", "datetime")):
        raise NotEditable(  # the Versioned Features proposal: a version URI is read-only
            "a version of a feature (?version=, ?datetime=) cannot be changed; send the "
            "change to the feature's own URI, or revert with POST …/versions/{N}/revert"
        )
    pool = deps.pool_of(deps.state_of(request))
    actor = Actor(caller.kind, caller.subject or "", request_id(request))
    name = f"feature.{operation}"
    async with (
        audited(pool, request, caller, name, layer.id, refusals_only=True) as note,
        edit_session(pool, layer, actor) as session,
    ):
        yield session, note
        note.version = session.current_version
        await write_event(session.conn, event_for(request, caller, name, note))


async def reload_catalog(request: Request) -> None:
    """This process serves the new version from the next request on (others: NOTIFY)."""
    store = deps.state_of(request).store
    if store is not None:
        await store.reload()
