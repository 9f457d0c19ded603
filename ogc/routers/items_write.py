"""Editing features: OGC API – Features Part 4 on ``/collections/{id}/items`` (ADR 0013).

POST creates, PUT replaces, PATCH applies a JSON Merge Patch, DELETE removes — only on
layers their owner opened for editing, only by the owning department's publishers and
admins (the gate: ``writable_layer``). Changes of an existing feature are conditional
(If-Match or If-Unmodified-Since, else 428), evaluated under the layer's lock. After the
commit this process reloads its catalog before answering; every other one reloads on the
catalog NOTIFY the new version sends.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from layers.catalog import Layer
from layers.edit.body import check_patch, parse_feature, parse_geometry
from layers.edit.revision import Revision
from layers.edit.rules import rules_from_request
from layers.edit.store import set_editable
from layers.errors import InvalidParameter, NotFound, PayloadTooLarge
from layers.features.execute import read_feature
from layers.features.ids import id_value
from ogc import deps
from ogc.common.edit_batch import apply_batch
from ogc.common.edit_geometry import feature_values
from ogc.common.edit_request import (
    CONDITIONAL,
    GML,
    MAX_BATCH_BODY,
    MAX_BODY,
    base_url,
    checked_feature,
    content_crs,
    edit_transaction,
    editable_layer,
    feature_body,
    json_body,
    patched_values,
    preconditions_of,
    refuse_creation_under,
    reload_catalog,
)
from ogc.common.features import feature_document
from ogc.deps import CallerDep, CollectionId, SnapshotDep
from ogc.gate.ownership import writable_layer
from ogc.gate.visible import visible_layer
from ogc.http import paths
from ogc.http.links import GEOJSON

router = APIRouter(tags=["Editing"])
FEATURE_TYPES = ("application/geo+json", "application/json", "application/fg+json")
ACCEPT_POST = (*FEATURE_TYPES, GML)
PATCH_TYPES = ("application/merge-patch+json",)
FeatureId = Annotated[str, Path(alias="featureId")]
FEATURE_BODY = {
    "required": True,
    "content": {t: {"schema": {"type": "object"}} for t in FEATURE_TYPES}
    | {GML: {"schema": {"type": "string", "description": "a GML SF-0 feature"}}},
}
PATCH_BODY = {"required": True, "content": {PATCH_TYPES[0]: {"schema": {"type": "object"}}}}
BATCH_BODY = {
    "required": True,
    "description": "Operations applied in order in one transaction: all or none. Each but a "
    "create names the feature's id and a precondition (ifMatch: its ETag, or "
    "ifUnmodifiedSince: its Last-Modified).",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["operations"],
                "properties": {
                    "operations": {
                        "type": "array",
                        "maxItems": 1000,
                        "items": {
                            "type": "object",
                            "required": ["op"],
                            "properties": {
                                "op": {"enum": ["create", "replace", "update", "delete"]},
                                "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                                "feature": {"type": "object", "description": "create, replace"},
                                "patch": {"type": "object", "description": "update (RFC 7396)"},
                                "ifMatch": {"type": "string"},
                                "ifUnmodifiedSince": {"type": "string"},
                            },
                        },
                    }
                },
            }
        }
    },
}


@router.options(paths.ITEMS, include_in_schema=False)
async def items_options(
    snapshot: SnapshotDep, caller: CallerDep, collection_id: CollectionId
) -> Response:
    layer = visible_layer(snapshot.catalog, collection_id, caller)
    if not layer.editable:
        return Response(status_code=200, headers={"Allow": "GET, HEAD, OPTIONS"})
    allow = {"Allow": "GET, HEAD, POST, OPTIONS", "Accept-Post": ", ".join(ACCEPT_POST)}
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
    summary="Add a feature, or several at once with a FeatureCollection (Part 4)",
    openapi_extra={"requestBody": FEATURE_BODY},
)
async def create_feature(
    request: Request, snapshot: SnapshotDep, caller: CallerDep, collection_id: CollectionId
) -> Response:
    layer = editable_layer(snapshot.catalog, collection_id, caller)
    body, crs = await feature_body(request, layer, FEATURE_TYPES, MAX_BATCH_BODY)
    if isinstance(body, dict) and body.get("type") == "FeatureCollection":
        return await apply_batch(request, layer, caller, body, created=True)
    if len(await request.body()) > MAX_BODY:
        raise PayloadTooLarge(f"a feature body may be {MAX_BODY // 2**20} MiB at most")
    feature = parse_feature(body, layer, crs, deps.served_crs_of(request))
    values = feature_values(layer, feature)
    async with edit_transaction(request, layer, caller, "create") as (session, note):
        revision = await session.create(values)
        note.detail["fid"] = revision.fid
    feature_id = str(revision.fid)  # also the new id of a layer with an id field
    location = {"Location": _location(request, layer, feature_id)}
    return await _answer(request, layer, revision, feature_id, 201, location)


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
    layer = editable_layer(snapshot.catalog, collection_id, caller)
    body, crs = await feature_body(request, layer, FEATURE_TYPES)
    feature = parse_feature(body, layer, crs, deps.served_crs_of(request))
    values = feature_values(layer, feature)
    given = preconditions_of(request)
    async with edit_transaction(request, layer, caller, "replace") as (session, note):
        fid = await session.locate(feature_id)
        if fid is None and _nameable(layer, feature_id):  # PUT to a new id creates it
            refuse_creation_under(given, layer, feature_id)
            revision = await session.create(values, feature_id=feature_id)
            note.detail["fid"] = revision.fid
            created = True
        else:
            current = await checked_feature(session, layer, feature_id, given, note)
            revision = await session.replace(current, values, "replace")
            created = False
    if created:
        location = {"Location": _location(request, layer, feature_id)}
        return await _answer(request, layer, revision, feature_id, 201, location)
    return await _answer(request, layer, revision, feature_id, 200)


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
    layer = editable_layer(snapshot.catalog, collection_id, caller)
    patch = await json_body(request, PATCH_TYPES)
    check_patch(patch, feature_id)
    crs = content_crs(request, layer)
    patched_geometry = parse_geometry(patch["geometry"], crs) if patch.get("geometry") else None
    async with edit_transaction(request, layer, caller, "update") as (session, note):
        current = await checked_feature(session, layer, feature_id, preconditions_of(request), note)
        values = patched_values(layer, current, patch, patched_geometry, crs)
        revision = await session.replace(current, values, "update")
    return await _answer(request, layer, revision, feature_id, 200)


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
    layer = editable_layer(snapshot.catalog, collection_id, caller)
    async with edit_transaction(request, layer, caller, "delete") as (session, note):
        current = await checked_feature(session, layer, feature_id, preconditions_of(request), note)
        await session.delete(current)
    await reload_catalog(request)
    return Response(status_code=204)


@router.post(
    paths.BATCH,
    summary="Apply several creates, replaces, updates and deletes at once, all or nothing",
    openapi_extra={"requestBody": BATCH_BODY},
)
async def batch(
    request: Request, snapshot: SnapshotDep, caller: CallerDep, collection_id: CollectionId
) -> Response:
    layer = editable_layer(snapshot.catalog, collection_id, caller)
    document = await json_body(request, ("application/json",), MAX_BATCH_BODY)
    return await apply_batch(request, layer, caller, document, created=False)


EDITING_BODY = {
    "required": True,
    "description": "The whole editing setting of the collection; absent rules are defaults.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["editable"],
                "properties": {
                    "editable": {"type": "boolean"},
                    "serviceArea": {
                        "type": "array",
                        "items": {"type": "number"},
                        "minItems": 4,
                        "maxItems": 4,
                        "description": "[west, south, east, north] in degrees; default Guangdong",
                    },
                    "idField": {"type": "string", "description": "field naming the features"},
                    "required": {"type": "array", "items": {"type": "string"}},
                },
            }
        }
    },
}


@router.put(
    paths.COLLECTION + "/editing",
    summary="Open or close a collection for editing, with its rules",
    openapi_extra={"requestBody": EDITING_BODY},
)
async def put_editing(
    request: Request, snapshot: SnapshotDep, caller: CallerDep, collection_id: CollectionId
) -> Response:
    layer = writable_layer(snapshot.catalog, collection_id, caller)
    body = await json_body(request, ("application/json",))
    editable = body.get("editable") if isinstance(body, dict) else None
    if not isinstance(editable, bool):
        raise InvalidParameter('send {"editable": true} or {"editable": false}')
    rules = rules_from_request(body, {f.name: f.type for f in layer.fields})
    await set_editable(deps.pool_of(deps.state_of(request)), layer, editable, rules)
    await reload_catalog(request)
    answer = {"id": layer.id, "editable": editable} | rules.to_json()
    return Response(orjson.dumps(answer), media_type="application/json")


def _nameable(layer: Layer, feature_id: str) -> bool:
    """Whether a PUT may create ``feature_id``: the layer names features by an id field,
    and the id is a value that field can hold."""
    return layer.id_field is not None and id_value(layer, feature_id) is not None


def _location(request: Request, layer: Layer, feature_id: str) -> str:
    return paths.href(base_url(request), paths.ITEM, collectionId=layer.id, featureId=feature_id)


async def _answer(
    request: Request,
    layer: Layer,
    revision: Revision,
    feature_id: str,
    status: int,
    extra: dict[str, str] | None = None,
) -> Response:
    """201/200 with the feature (Prefer: return=representation) or 201/204 without."""
    await reload_catalog(request)
    headers = {**revision.headers(), **(extra or {})}
    prefer = _preferences(request)
    applied = [p for p in prefer if p.startswith(("return=", "handling="))]
    if applied:
        headers["Preference-Applied"] = ", ".join(applied)
    if "return=representation" not in prefer:
        return Response(status_code=204 if status == 200 else status, headers=headers)
    body = await _representation(request, layer.id, revision.fid, feature_id)
    return Response(body, status_code=status, media_type=GEOJSON, headers=headers)


def _preferences(request: Request) -> list[str]:
    values = ",".join(request.headers.getlist("prefer"))
    return [p.strip().replace(" ", "").lower() for p in values.split(",") if p.strip()]


async def _representation(request: Request, layer_id: str, fid: int, feature_id: str) -> bytes:
    """The feature as GET answers it, from the reloaded snapshot's plan."""
    state = deps.state_of(request)
    plan = deps.snapshot_of(state).layers[layer_id].features
    text = await read_feature(deps.pool_of(state), plan.single_feature, fid)
    if text is None:
        raise NotFound(f"feature {fid} of '{layer_id}' disappeared before it could be returned")
    return feature_document(text, base_url(request), plan.layer, feature_id)
