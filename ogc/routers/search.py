"""``GET /search``: place names and administrative codes (天河区, 天河, 440106, 156440106)
over the administrative layers and every searchable layer the caller may see (issue 14).

The gate decides what is searched: only layers the caller sees (``visible_layers``; a
hidden one named in ``layers=`` is the unknown id's 404), only if the searched field is in
their view of it (an internal field is never searched below the internal level), clipped
to their areas where they are area-limited; hits in restricted layers are counted for the
audit like other reads. Matching and ranking are ``layers.search``.
"""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import Response

from layers.access.caller import Caller
from layers.catalog import Layer
from layers.errors import InvalidParameter
from layers.features.query import AdminArea
from layers.features.where import admin_exists_sql
from layers.search.execute import Hit, Target, run_search
from layers.search.fields import adcode_field, admin_level, search_field
from layers.search.params import SearchRequest, search_request
from ogc import deps
from ogc.common.items_request import admin_area
from ogc.deps import CallerDep, SnapshotDep, StateDep
from ogc.gate.visible import visible_layers
from ogc.http import paths
from ogc.http.links import GEOJSON, link
from ogc.openapi.search import SEARCH_PARAMETERS_DOC, SEARCH_RESPONSES
from ogc.plans import Snapshot
from ogc.state import AppState

router = APIRouter(tags=["Search"])
OUTPUTS = ("json", "geojson")


@router.get(
    paths.SEARCH,
    summary="Search place names and administrative codes (GeoJSON)",
    description="Ranked: exact name or adcode, then prefix, then substring, then similar "
    "names; administrative units first at equal rank. bbox keeps only results whose "
    "representative point lies inside it.",
    response_class=Response,
    responses=SEARCH_RESPONSES,
    openapi_extra={"parameters": SEARCH_PARAMETERS_DOC},
    dependencies=[deps.HEAVY],  # trigram scans over every searchable layer
)
async def search(
    request: Request, state: StateDep, snapshot: SnapshotDep, caller: CallerDep
) -> Response:
    wanted = search_request(request.query_params)
    if request.query_params.get("f", "json") not in OUTPUTS:
        raise InvalidParameter("f: /search answers GeoJSON only (f=json)")
    area = await _unit(state, snapshot, wanted.adcode)
    targets = await _targets(state, snapshot, caller, wanted)
    async with deps.read_pool_of(state).connection() as conn:
        try:
            hits = await run_search(conn, targets, wanted, area)
        except psycopg.errors.UndefinedTable:  # a search table dropped under an old snapshot
            await conn.rollback()
            targets = [_unindexed(state, t) for t in targets]
            hits = await run_search(conn, targets, wanted, area)
    for layer in {hit.target.layer.id: hit.target.layer for hit in hits}.values():
        deps.count_restricted_read(state, layer, caller)
    base = deps.base_url_of(request, state.settings)
    query = request.url.query
    body = _collection(hits, base, base + paths.SEARCH + (f"?{query}" if query else ""))
    return Response(orjson.dumps(body), media_type=GEOJSON)


async def _targets(
    state: AppState, snapshot: Snapshot, caller: Caller, wanted: SearchRequest
) -> list[Target]:
    if wanted.layers is None:
        layers = [
            view for view in visible_layers(snapshot.catalog, caller) if _field(snapshot, view)
        ]
    else:
        layers = [deps.layer_of(snapshot.catalog, i, caller) for i in wanted.layers]
        for view in layers:
            if _field(snapshot, view) is None:
                raise InvalidParameter(f"layers: '{view.id}' has no field to search")
    return [await _target(state, snapshot, caller, view) for view in layers]


def _field(snapshot: Snapshot, view: Layer) -> str | None:
    """The layer's search field, if the caller's view of the layer has it."""
    found = search_field(snapshot.catalog.layers[view.id])
    return found.name if found is not None and view.field(found.name) is not None else None


async def _target(state: AppState, snapshot: Snapshot, caller: Caller, view: Layer) -> Target:
    field = _field(snapshot, view)
    assert field is not None
    admin = state.settings.admin
    clip = await deps.clip_of(state, snapshot, view, caller)
    indexes = state.search
    return Target(
        layer=view,
        field=field,
        adcode=adcode_field(view, admin),
        level=admin_level(view, admin),
        table=indexes.table_for(view, field) if indexes is not None else None,
        clip=clip.geometry if clip is not None else None,
    )


def _unindexed(state: AppState, target: Target) -> Target:
    if target.table is not None and state.search is not None:
        state.search.forget(target.table)
    return Target(target.layer, target.field, target.adcode, target.level, None, target.clip)


async def _unit(state: AppState, snapshot: Snapshot, code: str | None) -> AdminArea | None:
    """``adcode=``: the administrative unit results must lie in (400 when there is none)."""
    if code is None:
        return None
    area = admin_area(code, state.settings, snapshot.catalog)
    assert area is not None
    statement, params = admin_exists_sql(area)
    async with deps.read_pool_of(state).connection() as conn:
        row = await (await conn.execute(statement, params)).fetchone()
    if not row or not row[0]:
        raise InvalidParameter(f"adcode: no administrative unit has code {code}")
    return area


def _collection(hits: list[Hit], base: str, self_href: str) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [_feature(hit, base) for hit in hits],
        "numberReturned": len(hits),
        "links": [link(self_href, "self", GEOJSON, "This search")],
    }


def _feature(hit: Hit, base: str) -> dict[str, Any]:
    layer = hit.target.layer
    x, y = hit.point
    return {
        "type": "Feature",
        "id": f"{layer.id}/{hit.fid}",
        "geometry": {"type": "Point", "coordinates": [round(x, 7), round(y, 7)]},
        "bbox": [round(v, 7) for v in hit.bbox],
        "properties": {
            "name": hit.name,
            "collection": layer.id,
            "collectionTitle": layer.title_zh,
            "kind": "admin" if hit.target.level else "feature",
            "adcode": hit.adcode,
            "level": hit.target.level,
            "href": paths.href(base, paths.ITEM, collectionId=layer.id, featureId=hit.fid),
        },
    }
