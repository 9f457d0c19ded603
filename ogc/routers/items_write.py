"""Editing features: OGC API – Features Part 4 on ``/collections/{id}/items`` (ADR 0013).

POST creates, PUT replaces, PATCH applies a JSON Merge Patch, DELETE removes — only on
layers their owner opened for editing, only by the owning department's publishers and
admins (the gate: ``writable_layer``). Changes of an existing feature are conditional
(If-Match or If-Unmodified-Since, else 428), evaluated under the layer's lock. After the
commit this process reloads its catalog before answering; every other one reloads on the
catalog NOTIFY the new version sends.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from layers.catalog import Layer
from layers.crs import DEFAULT as DEFAULT_CRS
from layers.crs import CrsInfo, crs_from_parameter
from layers.edit.body import (
    check_patch,
    checked_properties,
    merge_patch,
    parse_feature,
    parse_geometry,
)
from layers.edit.errors import UnsupportedBody
from layers.edit.revision import Revision, check
from layers.edit.store import (
    Current,
    EditSession,
    Values,
    set_editable,
)
from layers.errors import InvalidParameter, NotFound, PayloadTooLarge
from layers.features.execute import read_feature
from ogc import deps
from ogc.common.edit_geometry import stored_values
from ogc.common.edit_request import CONDITIONAL, preconditions_of
from ogc.common.edit_request import edit_transaction as _session
from ogc.common.edit_request import editable_layer as _editable
from ogc.common.edit_request import feature_fid as _fid
from ogc.common.edit_request import reload_catalog as _reload
from ogc.common.features import feature_document, missing_feature
from ogc.deps import CallerDep, CollectionId, SnapshotDep
from ogc.gate.ownership import writable_layer
from ogc.gate.visible import visible_layer
from ogc.http import paths
from ogc.http.links import GEOJSON

router = APIRouter(tags=["Editing"])
FEATURE_TYPES = ("application/geo+json", "application/json")
PATCH_TYPES = ("application/merge-patch+json",)
MAX_BODY = 8 * 1024 * 1024  # one feature; a county boundary's polygon is well below this
FeatureId = Annotated[str, Path(alias="featureId")]
FEATURE_BODY = {
    "required": True,
    "content": {t: {"schema": {"type": "object"}} for t in FEATURE_TYPES},
}
PATCH_BODY = {"required": True, "content": {PATCH_TYPES[0]: {"schema": {"type": "object"}}}}


@router.options(paths.ITEMS, include_in_schema=False)
async def items_options(
    snapshot: SnapshotDep, caller: CallerDep, collection_id: CollectionId
) -> Response:
    layer = visible_layer(snapshot.catalog, collection_id, caller)
    if not layer.editable:
        return Response(status_code=200, headers={"Allow": "GET, HEAD, OPTIONS"})
    allow = {"Allow": "GET, HEAD, POST, OPTIONS", "Accept-Post": ", ".join(FEATURE_TYPES)}
    return Response(status_code=200, headers=allow)


@router.options(paths.ITEM, include_in_schema=False)
async def item_options(
    snapshot: SnapshotDep, caller: CallerDep, collection_id: CollectionId
) -> Response:
    layer = visible_layer(snapshot.catalog, collection_id, caller)
    if not layer.editable:
        return Response(status_code=200, headers={"Allow": "GET, HEAD, OPTIONS"})
    allow = "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
    return Response(status_code=200, headers={"Allow": allow, "Accept-Patch": PATCH_TYPES[0]})


@router.post(
    paths.ITEMS,
    status_code=201,
    summary="Add a feature (Part 4)",
    openapi_extra={"requestBody": FEATURE_BODY},
)
async def create_feature(
    request: Request, snapshot: SnapshotDep, caller: CallerDep, collection_id: CollectionId
) -> Response:
    layer = _editable(snapshot.catalog, collection_id, caller)
    body = await _body(request, FEATURE_TYPES)
    crs = _content_crs(request)
    feature = parse_feature(body, layer, crs)
    values = stored_values(layer, dict(feature.properties), feature.geometry, crs)
    async with _session(request, layer, caller, "create") as (session, note):
        revision = await session.create(values)
        note.detail["fid"] = revision.fid
    location = paths.href(_base(request), paths.ITEM, collectionId=layer.id, featureId=revision.fid)
    return await _answer(request, layer, revision, 201, {"Location": location})


@router.put(
    paths.ITEM,
    summary="Replace a feature (Part 4)",
    openapi_extra={"requestBody": FEATURE_BODY, "parameters": CONDITIONAL},
)
async def replace_feature(
    request: Request,
    snapshot: SnapshotDep,
    caller: CallerDep,
    collection_id: CollectionId,
    feature_id: FeatureId,
) -> Response:
    layer = _editable(snapshot.catalog, collection_id, caller)
    fid = _fid(layer, feature_id)
    body = await _body(request, FEATURE_TYPES)
    crs = _content_crs(request)
    feature = parse_feature(body, layer, crs)
    values = stored_values(layer, dict(feature.properties), feature.geometry, crs)
    async with _session(request, layer, caller, "replace") as (session, note):
        note.detail["fid"] = fid
        current = await _checked(session, request, layer, fid, feature_id)
        revision = await session.replace(current, values, "replace")
    return await _answer(request, layer, revision, 200)


@router.patch(
    paths.ITEM,
    summary="Update a feature with a JSON Merge Patch (Part 4)",
    openapi_extra={"requestBody": PATCH_BODY, "parameters": CONDITIONAL},
)
async def update_feature(
    request: Request,
    snapshot: SnapshotDep,
    caller: CallerDep,
    collection_id: CollectionId,
    feature_id: FeatureId,
) -> Response:
    layer = _editable(snapshot.catalog, collection_id, caller)
    fid = _fid(layer, feature_id)
    patch = await _body(request, PATCH_TYPES)
    check_patch(patch, fid)
    crs = _content_crs(request)
    patched_geometry = parse_geometry(patch["geometry"], crs) if patch.get("geometry") else None
    async with _session(request, layer, caller, "update") as (session, note):
        note.detail["fid"] = fid
        current = await _checked(session, request, layer, fid, feature_id)
        values = _patched(layer, current, patch, patched_geometry, crs)
        revision = await session.replace(current, values, "update")
    return await _answer(request, layer, revision, 200)


@router.delete(
    paths.ITEM,
    status_code=204,
    summary="Remove a feature (Part 4)",
    openapi_extra={"parameters": CONDITIONAL},
)
async def delete_feature(
    request: Request,
    snapshot: SnapshotDep,
    caller: CallerDep,
    collection_id: CollectionId,
    feature_id: FeatureId,
) -> Response:
    layer = _editable(snapshot.catalog, collection_id, caller)
    fid = _fid(layer, feature_id)
    async with _session(request, layer, caller, "delete") as (session, note):
        note.detail["fid"] = fid
        current = await _checked(session, request, layer, fid, feature_id)
        await session.delete(current)
    await _reload(request)
    return Response(status_code=204)


@router.put(paths.COLLECTION + "/editing", summary="Open or close a collection for editing")
async def put_editing(
    request: Request, snapshot: SnapshotDep, caller: CallerDep, collection_id: CollectionId
) -> Response:
    layer = writable_layer(snapshot.catalog, collection_id, caller)
    body = await _body(request, ("application/json",))
    editable = body.get("editable") if isinstance(body, dict) else None
    if not isinstance(editable, bool):
        raise InvalidParameter('send {"editable": true} or {"editable": false}')
    await set_editable(deps.pool_of(deps.state_of(request)), layer.id, editable)
    await _reload(request)
    return Response(
        orjson.dumps({"id": layer.id, "editable": editable}), media_type="application/json"
    )


async def _body(request: Request, accepted: tuple[str, ...]) -> Any:
    """The body as JSON, if its Content-Type is one ``accepted`` (missing: 400, other: 415)."""
    given = request.headers.get("content-type")
    if not given:
        raise InvalidParameter(f"send a Content-Type header: {' or '.join(accepted)}")
    media_type = given.split(";")[0].strip().lower()
    if media_type not in accepted:
        raise UnsupportedBody(
            f"Content-Type {media_type[:60]!r} is not read here; send {' or '.join(accepted)}"
        )
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge(f"a feature body may be {MAX_BODY // 2**20} MiB at most")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"the body is not valid JSON: {exc}") from None


def _content_crs(request: Request) -> CrsInfo:
    """``Content-Crs: <uri>`` (Part 4 with Part 2), CRS84 when absent."""
    given = request.headers.get("content-crs")
    if not given:
        return DEFAULT_CRS
    return crs_from_parameter(given.strip().removeprefix("<").removesuffix(">"), "Content-Crs")


async def _checked(
    session: EditSession, request: Request, layer: Layer, fid: int, feature_id: str
) -> Current:
    """The feature, locked, if it exists (else 404, whatever the precondition) and the
    request's precondition holds (else 412, or 428 when there is none)."""
    current = await session.feature(fid)
    if current is None:
        raise missing_feature(layer, feature_id)
    check(current.revision, preconditions_of(request))
    return current


def _patched(
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


async def _answer(
    request: Request,
    layer: Layer,
    revision: Revision,
    status: int,
    extra: dict[str, str] | None = None,
) -> Response:
    """201/200 with the feature (Prefer: return=representation) or 201/204 without."""
    await _reload(request)
    headers = {**revision.headers(), **(extra or {})}
    prefer = _preferences(request)
    applied = [p for p in prefer if p.startswith(("return=", "handling="))]
    if applied:
        headers["Preference-Applied"] = ", ".join(applied)
    if "return=representation" not in prefer:
        return Response(status_code=204 if status == 200 else status, headers=headers)
    body = await _representation(request, layer.id, revision.fid)
    return Response(body, status_code=status, media_type=GEOJSON, headers=headers)


def _preferences(request: Request) -> list[str]:
    values = ",".join(request.headers.getlist("prefer"))
    return [p.strip().replace(" ", "").lower() for p in values.split(",") if p.strip()]


async def _representation(request: Request, layer_id: str, fid: int) -> bytes:
    """The feature as GET answers it, from the reloaded snapshot's plan."""
    state = deps.state_of(request)
    plan = deps.snapshot_of(state).layers[layer_id].features
    text = await read_feature(deps.pool_of(state), plan.single_feature, fid)
    if text is None:
        raise NotFound(f"feature {fid} of '{layer_id}' disappeared before it could be returned")
    return feature_document(text, _base(request), plan.layer, str(fid))


def _base(request: Request) -> str:
    return deps.base_url_of(request, deps.state_of(request).settings)
