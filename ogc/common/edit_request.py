"""What every editing route does around its change (ADR 0013): the gate's writable layer
that is open for editing, its body and CRS, the audited transaction, the precondition, and
the reload after it.

Shared by ``ogc.routers.items_write`` (Part 4, batches) and ``ogc.routers.items_history``
(reverts), so all record, lock and reload the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import Request

from layers.access.audit import write_event
from layers.access.caller import Caller
from layers.catalog import Catalog, Layer
from layers.crs import DEFAULT as DEFAULT_CRS
from layers.crs import CrsInfo
from layers.edit.body import checked_properties, merge_patch
from layers.edit.errors import NotEditable, PreconditionFailed, UnsupportedBody
from layers.edit.gml_body import gml_feature
from layers.edit.revision import Preconditions, check
from layers.edit.store import Actor, Current, EditSession, Values, edit_session, not_editable
from layers.errors import InvalidParameter, PayloadTooLarge
from layers.features.params import parse_feature_id
from ogc import deps
from ogc.common.audit import AuditNote, audited, event_for, request_id
from ogc.common.edit_geometry import stored_values
from ogc.common.features import missing_feature
from ogc.gate.ownership import writable_layer

GML = "application/gml+xml"
MAX_BODY = 8 * 1024 * 1024  # one feature; a county boundary's polygon is well below this
MAX_BATCH_BODY = 64 * 1024 * 1024  # a batch of up to 1000 features
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


async def json_body(request: Request, accepted: tuple[str, ...], limit: int = MAX_BODY) -> Any:
    """The body as JSON, if its Content-Type is one ``accepted`` (missing: 400, other: 415)."""
    media_type(request, accepted)
    return _json(await _raw(request, limit))


async def feature_body(
    request: Request, layer: Layer, accepted: tuple[str, ...], limit: int = MAX_BODY
) -> tuple[Any, CrsInfo]:
    """A create's or replace's body as a GeoJSON document and the CRS of its geometry:
    JSON (GeoJSON, JSON-FG) in ``Content-Crs``, or GML SF-0 (``application/gml+xml``) in
    its geometry's ``srsName`` (else ``Content-Crs``)."""
    if media_type(request, (*accepted, GML)) != GML:
        return _json(await _raw(request, limit)), content_crs(request, layer)
    document, srs = gml_feature(await _raw(request, min(limit, MAX_BODY)), layer)
    if srs:
        return document, deps.served_crs_of(request).parse(srs, "srsName", layer)
    return document, content_crs(request, layer)


def media_type(request: Request, accepted: tuple[str, ...]) -> str:
    """The body's media type, if one of ``accepted`` (missing: 400, other: 415)."""
    given = request.headers.get("content-type")
    if not given:
        raise InvalidParameter(f"send a Content-Type header: {' or '.join(accepted)}")
    found = given.split(";")[0].strip().lower()
    if found not in accepted:
        raise UnsupportedBody(
            f"Content-Type {found[:60]!r} is not read here; send {' or '.join(accepted)}"
        )
    return found


async def _raw(request: Request, limit: int) -> bytes:
    raw = await request.body()
    if len(raw) > limit:
        raise PayloadTooLarge(f"this body may be {limit // 2**20} MiB at most")
    return raw


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"the body is not valid JSON: {exc}") from None


def content_crs(request: Request, layer: Layer) -> CrsInfo:
    """``Content-Crs: <uri>`` (Part 4 with Part 2): a CRS ``layer`` is served in; CRS84
    when absent (and the only one accepted without Part 2, ``ServedCrs``)."""
    given = request.headers.get("content-crs")
    if not given:
        return DEFAULT_CRS
    uri = given.strip().removeprefix("<").removesuffix(">")
    return deps.served_crs_of(request).parse(uri, "Content-Crs", layer)


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
    state = deps.state_of(request)
    pool = deps.pool_of(state)
    actor = Actor(caller.kind, caller.subject or "", request_id(request))
    name = f"feature.{operation}"
    async with (
        audited(pool, request, caller, name, layer.id, refusals_only=True) as note,
        edit_session(pool, layer, actor) as session,
    ):
        yield session, note
        note.version = session.current_version
        await write_event(session.conn, event_for(request, caller, name, note))
    await deps.wrote(state)  # committed: the editor's next reads see it (read-your-writes)


async def checked_feature(
    session: EditSession,
    layer: Layer,
    feature_id: str,
    given: Preconditions,
    note: AuditNote | None = None,
) -> Current:
    """The feature, locked, if it exists (else 404, whatever the precondition) and the
    precondition holds (else 412, or 428 when there is none); its fid goes in ``note``,
    so a refusal is recorded with it too."""
    fid = await session.locate(feature_id)
    if note is not None and fid is not None:
        note.detail["fid"] = fid
    current = None if fid is None else await session.feature(fid)
    if current is None:
        raise missing_feature(layer, feature_id)
    check(current.revision, given)
    return current


def refuse_creation_under(given: Preconditions, layer: Layer, feature_id: str) -> None:
    """A PUT that would create ``feature_id`` with ``If-Match``: no current representation
    matches any tag, so 412 (RFC 9110 §13.1.1); ``If-Unmodified-Since`` does not apply to a
    resource that has no modification date (§13.1.4), so it creates."""
    if given.if_match is not None:
        raise PreconditionFailed(
            f"feature {feature_id} does not exist in '{layer.id}', so If-Match cannot hold; "
            "send the PUT without If-Match to create it",
            "",
            "",
        )


def patched_values(
    layer: Layer, current: Current, patch: dict[str, Any], geometry: Any, crs: CrsInfo
) -> Values:
    """The values after ``patch``: properties merged (RFC 7396), the geometry replaced
    when the patch has one (else the stored one, as stored)."""
    merged = merge_patch(current.document.get("properties") or {}, patch.get("properties") or {})
    properties = checked_properties(merged, layer)
    if geometry is not None:
        return stored_values(layer, properties, geometry, crs)
    if "geometry" in patch:
        raise InvalidParameter("'geometry' cannot be removed from a feature of this layer")
    return Values(properties, current.wkb, None, {})  # the stored bytes, not a round trip


def base_url(request: Request) -> str:
    return deps.base_url_of(request, deps.state_of(request).settings)


async def reload_catalog(request: Request) -> None:
    """This process serves the new version from the next request on (others: NOTIFY)."""
    store = deps.state_of(request).store
    if store is not None:
        await store.reload()
