"""OGC API – Tiles 1.0: tile matrix sets, vector (MVT) and map (PNG) tiles, TileJSON, styles.

A tile outside the grid, or outside the tileset's ``tileMatrixSetLimits`` (the tiles that can
hold the layer's data), is a 404 naming the index and its range. Inside the limits an empty
vector tile is 204 No Content (MapLibre, OpenLayers and GDAL read it as "nothing here") and an
empty map tile is a transparent PNG, as in WMTS (Leaflet and many viewers show a 204 image as
a broken tile).
Every tile carries a strong ETag computed from its cache key (layer version, style version,
grid, tile, format), so revalidation is a 304 without touching the cache or the database.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from layers.errors import InvalidParameter
from ogc.common.tiles import (
    PNG,
    TMS1_COMPAT,
    Col,
    Level,
    Row,
    TmsId,
    check_in_limits,
    require_vector,
    serve_tile,
    tileset_metadata,
    tilesets_document,
    tms_uri,
)
from ogc.deps import (
    BaseUrlDep,
    LayerDep,
    TilePlanDep,
    TileRequestDep,
)
from ogc.gate.visible import cache_scope
from ogc.http import paths
from ogc.http.links import JSON, STYLE_JSON, TILEJSON, link
from tiles import grids, mvt
from tiles.render import transparent_png
from tiles.service import MVT_MEDIA_TYPE
from tiles.styles import maplibre_style, tilejson

router = APIRouter(tags=["Tiles"])


def tms_href(base: str, tms_id: str) -> str:
    return paths.href(base, paths.TILE_MATRIX_SET, tileMatrixSetId=tms_id)


@router.get(paths.TILE_MATRIX_SETS, summary="Tile matrix sets (tiling schemes) offered")
def list_tile_matrix_sets(base: BaseUrlDep) -> dict[str, Any]:
    return {
        "tileMatrixSets": [
            {
                "id": tms_id,
                "title": grids.get_tms(tms_id).title,
                "uri": tms_uri(tms_id, base),
                "links": [link(tms_href(base, tms_id), "self", JSON, tms_id)],
            }
            for tms_id in grids.list_tms()
        ],
        "links": [link(base + paths.TILE_MATRIX_SETS, "self", JSON)],
    }


@router.get(paths.TILE_MATRIX_SET, summary="One tile matrix set (TMS 2.0 JSON)")
def get_tile_matrix_set(
    tms_id: TmsId,
    compat: Annotated[
        str | None,
        Query(
            description="tms1: add the TMS 1.0 JSON members (for GDAL before 3.7)",
            json_schema_extra={"enum": [TMS1_COMPAT]},
        ),
    ] = None,
) -> dict[str, Any]:
    if compat not in (None, TMS1_COMPAT):
        raise InvalidParameter(f"compat must be {TMS1_COMPAT!r} or absent")
    return grids.tms_json(tms_id, tms1_members=compat == TMS1_COMPAT)


@router.get(paths.COLLECTION_TILESETS, summary="Vector tilesets of a collection")
def vector_tilesets(layer: LayerDep, base: BaseUrlDep) -> dict[str, Any]:
    require_vector(layer)
    return tilesets_document(layer, base, "vector")


@router.get(paths.MAP_TILESETS, summary="Map tilesets of a collection")
def map_tilesets(layer: LayerDep, base: BaseUrlDep) -> dict[str, Any]:
    return tilesets_document(layer, base, "map")


@router.get(paths.COLLECTION_TILESET, summary="Vector tileset")
def vector_tileset(layer: LayerDep, tms_id: TmsId, base: BaseUrlDep) -> dict[str, Any]:
    require_vector(layer)
    grids.get_tms(tms_id)
    return tileset_metadata(layer, tms_id, base, "vector")


@router.get(paths.MAP_TILESET, summary="Map tileset")
def map_tileset(layer: LayerDep, tms_id: TmsId, base: BaseUrlDep) -> dict[str, Any]:
    grids.get_tms(tms_id)
    return tileset_metadata(layer, tms_id, base, "map")


@router.get(
    paths.COLLECTION_TILE,
    summary="A vector tile (Mapbox Vector Tile); 204 when empty, 404 outside the limits",
    response_class=Response,
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 204: {"description": "Empty tile"}},
)
async def vector_tile(
    request: Request,
    tile: TileRequestDep,
    tms_id: TmsId,
    z: Level,
    row: Row,
    col: Col,
    properties: Annotated[str | None, Query(description="Comma-separated attributes")] = None,
) -> Response:
    plan, layer = tile.plan, tile.plan.layer
    require_vector(layer)
    check_in_limits(layer, tms_id, z, row, col)
    selected = mvt.select_properties(layer, properties)
    scope = cache_scope(layer, tile.caller)
    work = tile.producer.vector_tile(
        plan, tms_id, z, row, col, selected, scope=scope, clip=tile.clip
    )
    return await serve_tile(request, tile.state.settings.tile_cache_max_age, work)


@router.get(
    paths.MAP_TILE,
    summary="A styled map tile (PNG, transparent background; fully transparent when empty)",
    response_class=Response,
    responses={200: {"content": {PNG: {}}}, 404: {"description": "Outside the limits"}},
)
async def map_tile(
    request: Request,
    tile: TileRequestDep,
    tms_id: TmsId,
    z: Level,
    row: Row,
    col: Col,
) -> Response:
    plan = tile.plan
    check_in_limits(plan.layer, tms_id, z, row, col)
    scope = cache_scope(plan.layer, tile.caller)
    work = tile.producer.map_tile(plan, tms_id, z, row, col, scope=scope, clip=tile.clip)
    max_age = tile.state.settings.tile_cache_max_age
    return await serve_tile(request, max_age, work, transparent_png())


@router.get(
    paths.COLLECTION_TILEJSON,
    summary="TileJSON 3.0 of the vector tiles",
)
def collection_tilejson(layer: LayerDep, tms_id: TmsId, base: BaseUrlDep) -> Response:
    require_vector(layer)
    levels = grids.level_range(tms_id)
    template = paths.renamed(paths.COLLECTION_TILE, paths.TILEJSON_VARIABLES)
    url = paths.href(base, template, collectionId=layer.id, tileMatrixSetId=tms_id)
    doc = tilejson(layer, url, levels.start, min(levels.stop - 1, 22))
    return Response(orjson.dumps(doc), media_type=TILEJSON)


@router.get(paths.STYLE, summary="MapLibre style of the layer")
def collection_style(plan: TilePlanDep, base: BaseUrlDep) -> Response:
    layer = plan.layer
    require_vector(layer)
    url = paths.href(
        base, paths.COLLECTION_TILEJSON, collectionId=layer.id, tileMatrixSetId="WebMercatorQuad"
    )
    return Response(orjson.dumps(maplibre_style(layer, plan.style, url)), media_type=STYLE_JSON)
