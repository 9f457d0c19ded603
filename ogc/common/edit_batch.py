"""Applying a batch: every operation in one transaction under the layer's lock, one version.

The bodies are checked first (no lock held while geometries are repaired); then each
operation's feature is locked and its precondition checked in order, as a single edit
does. The first refusal (404, 412, 422, 428 …) rolls everything back and is answered
with the status the same edit alone would get, its message naming the operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import shapely
from fastapi import Request
from fastapi.responses import Response

from layers.access.caller import Caller
from layers.catalog import Layer
from layers.crs import CrsInfo, ServedCrs
from layers.edit.batch import Operation, each_named, naming, parse_batch
from layers.edit.body import check_patch, parse_feature, parse_geometry
from layers.edit.revision import Revision
from layers.edit.store import EditSession, Values
from ogc import deps
from ogc.common.edit_geometry import feature_values
from ogc.common.edit_request import (
    base_url,
    checked_feature,
    content_crs,
    edit_transaction,
    patched_values,
    reload_catalog,
)
from ogc.http import paths

STATUS_OF = {"create": 201, "replace": 200, "update": 200, "delete": 204}


@dataclass(frozen=True)
class Prepared:
    """An operation's database-free part: its stored values or patch geometry."""

    values: Values | None = None
    patch_geometry: shapely.Geometry | None = None


async def apply_batch(
    request: Request, layer: Layer, caller: Caller, document: Any, *, created: bool
) -> Response:
    """The batch's answer: each operation's outcome and the one version they made
    (201 for a FeatureCollection of new features, else 200)."""
    operations = parse_batch(document)
    crs = content_crs(request, layer)
    served = deps.served_crs_of(request)
    prepared = each_named(operations, lambda operation: _prepare(operation, layer, crs, served))
    revisions: list[Revision] = []
    async with edit_transaction(request, layer, caller, "batch") as (session, note):
        note.detail["operations"] = len(operations)
        for operation, ready in zip(operations, prepared, strict=True):
            with naming(operation):
                revisions.append(await _apply(session, layer, operation, ready, crs))
        version = session.current_version
    await reload_catalog(request)
    base = base_url(request)
    outcomes = [_outcome(base, layer, o, r) for o, r in zip(operations, revisions, strict=True)]
    body = {"collection": layer.id, "version": version, "operations": outcomes}
    status = 201 if created else 200
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _prepare(operation: Operation, layer: Layer, crs: CrsInfo, served: ServedCrs) -> Prepared:
    body = operation.body or {}
    if operation.op in ("create", "replace"):
        feature = parse_feature(body, layer, crs, served)
        return Prepared(feature_values(layer, feature))
    if operation.op == "update":
        assert operation.feature_id is not None
        check_patch(body, operation.feature_id)
        geometry = parse_geometry(body["geometry"], crs) if body.get("geometry") else None
        return Prepared(patch_geometry=geometry)
    return Prepared()


async def _apply(
    session: EditSession, layer: Layer, operation: Operation, ready: Prepared, crs: CrsInfo
) -> Revision:
    if operation.op == "create":
        assert ready.values is not None
        return await session.create(ready.values)
    assert operation.feature_id is not None
    current = await checked_feature(session, layer, operation.feature_id, operation.preconditions)
    if operation.op == "delete":
        return await session.delete(current)
    values = ready.values
    if operation.op == "update":
        patch = operation.body or {}
        values = patched_values(layer, current, patch, ready.patch_geometry, crs)
    assert values is not None
    return await session.replace(current, values, operation.op)


def _outcome(base: str, layer: Layer, operation: Operation, revision: Revision) -> dict[str, Any]:
    """What the client learns of one operation; ``id`` as the layer names its features."""
    public: int | str = revision.fid
    if layer.id_field is not None:  # a new feature of such a layer is named by its fid
        public = operation.feature_id or str(revision.fid)
    outcome: dict[str, Any] = {"op": operation.op, "id": public, "status": STATUS_OF[operation.op]}
    if operation.op != "delete":
        outcome["href"] = paths.href(base, paths.ITEM, collectionId=layer.id, featureId=public)
        outcome |= {"etag": revision.etag(), "lastModified": revision.last_modified}
    return outcome
