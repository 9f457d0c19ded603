"""OGC API – Tiles "dataset tilesets": vector tiles combining several collections.

``/tiles`` lists a tileset per tile matrix set, ``/tiles/{tms}`` describes one (a layer per
collection, limits over their joint extent, the templated tile URL) and
``/tiles/{tms}/{z}/{row}/{col}`` serves the tile. ``collections=a,b`` selects the
collections; the metadata defaults to every vector collection, and its tile template always
names the selection explicitly, because a tile without ``collections`` would have to combine
every layer of the platform (one MVT layer each), which no client wants by accident.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from layers.access.caller import Caller
from layers.catalog import Catalog, Layer
from layers.errors import InvalidParameter
from ogc.common.tiles import (
    Col,
    Level,
    Row,
    TmsId,
    accepts_gzip,
    cache_headers,
    crs_uri,
    limits_and_box,
    tile_template,
    tiling_scheme_link,
    tms_uri,
    vector_layer,
)
from ogc.deps import (
    BaseUrlDep,
    CallerDep,
    CatalogDep,
    ProducerDep,
    SettingsDep,
    SnapshotDep,
    clip_of,
    count_restricted_read,
    layer_of,
    listed_layers,
    state_of,
)
from ogc.gate.visible import cache_scope
from ogc.http import paths
from ogc.http.links import link, with_query
from ogc.openapi.params import ID_LIST
from tiles import grids
from tiles.service import MVT_MEDIA_TYPE, gzip_tile

router = APIRouter(tags=["Tiles"])

CollectionsParam = Annotated[
    str | None,
    Query(
        description="Comma-separated collection ids; default: every vector collection",
        json_schema_extra=ID_LIST,
    ),
]


def selected_layers(catalog: Catalog, caller: Caller, collections: str | None) -> list[Layer]:
    """The selected collections (default: every vector one), as the caller sees them."""
    if collections is None:
        return [layer for layer in listed_layers(catalog, caller) if layer.kind == "vector"]
    ids = [c.strip() for c in collections.split(",") if c.strip()]
    if not ids:
        raise InvalidParameter("collections must name at least one collection")
    layers = [layer_of(catalog, layer_id, caller) for layer_id in ids]
    for layer in layers:
        if layer.kind != "vector":
            raise InvalidParameter(f"'{layer.id}' is a raster layer; see its map tiles")
    return layers


def joint_extent(layers: list[Layer]) -> tuple[float, float, float, float] | None:
    boxes = [layer.extent for layer in layers if layer.extent]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def dataset_summary(tms_id: str, base: str, collections: str | None) -> dict[str, Any]:
    return {
        "title": f"Vector tiles of several collections ({tms_id})",
        "dataType": "vector",
        "crs": crs_uri(tms_id),
        "tileMatrixSetURI": tms_uri(tms_id, base),
        "links": [
            link(
                with_query(
                    paths.href(base, paths.DATASET_TILESET, tileMatrixSetId=tms_id),
                    {"collections": collections},
                ),
                "self",
            ),
            tiling_scheme_link(base, tms_id),
        ],
    }


@router.get(
    paths.DATASET_TILESETS, summary="Dataset vector tilesets (several collections in one tile)"
)
def dataset_tilesets(
    catalog: CatalogDep, caller: CallerDep, base: BaseUrlDep, collections: CollectionsParam = None
) -> dict[str, Any]:
    selected_layers(catalog, caller, collections)  # 400/404 for a bad selection, as everywhere
    return {
        "links": [
            link(with_query(base + paths.DATASET_TILESETS, {"collections": collections}), "self")
        ],
        "tilesets": [dataset_summary(t, base, collections) for t in grids.list_tms()],
    }


@router.get(paths.DATASET_TILESET, summary="Dataset vector tileset")
def dataset_tileset(
    catalog: CatalogDep,
    caller: CallerDep,
    tms_id: TmsId,
    base: BaseUrlDep,
    collections: CollectionsParam = None,
) -> dict[str, Any]:
    grids.get_tms(tms_id)
    layers = selected_layers(catalog, caller, collections)
    doc = dataset_summary(tms_id, base, collections)
    ids = ",".join(layer.id for layer in layers)
    template = paths.href(base, paths.DATASET_TILE, tileMatrixSetId=tms_id)
    template += f"?collections={ids}"
    doc["links"].append(tile_template(template, MVT_MEDIA_TYPE))
    extent = joint_extent(layers)
    if extent:
        doc |= limits_and_box(tms_id, extent)
    doc["layers"] = [vector_layer(layer) for layer in layers]
    return doc


@router.get(
    paths.DATASET_TILE,
    summary="Dataset vector tile: one MVT layer per collection; 204 when all are empty",
    response_class=Response,
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 204: {"description": "Empty tile"}},
)
async def dataset_tile(
    request: Request,
    catalog: CatalogDep,
    plans: SnapshotDep,
    caller: CallerDep,
    producer: ProducerDep,
    settings: SettingsDep,
    tms_id: TmsId,
    z: Level,
    row: Row,
    col: Col,
    collections: Annotated[
        str, Query(description="Comma-separated collection ids", json_schema_extra=ID_LIST)
    ],
) -> Response:
    layers = selected_layers(catalog, caller, collections)
    extent = joint_extent(layers)
    if extent:
        grids.check_within_limits(tms_id, extent, z, row, col)
    state = state_of(request)
    for layer in layers:  # each restricted layer in the tile is a read of it
        count_restricted_read(state, layer, caller)
    clips = [await clip_of(state, plans, layer, caller) for layer in layers]
    tile_plans = [plans.tiles(layer) for layer in layers]
    work = asyncio.gather(
        *(
            producer.vector_tile(
                p,
                tms_id,
                z,
                row,
                col,
                p.layer.field_names,
                scope=cache_scope(p.layer, caller),
                clip=clip,
            )
            for p, clip in zip(tile_plans, clips, strict=True)
        )
    )
    tiles = await work  # cancelled, with its SQL, if the client leaves (ogc.http.disconnect)
    # An MVT is a sequence of layer messages, so tiles concatenate into one tile.
    plain = b"".join(tile.plain() for tile in tiles)
    gzipped = accepts_gzip(request)
    tags = "+".join(tile.etag(not gzipped).strip('"') for tile in tiles)
    headers = cache_headers(tiles[0], settings.tile_cache_max_age) | {"ETag": f'"{tags}"'}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if not plain:
        return Response(status_code=204, headers=headers)
    if gzipped:
        headers |= {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return Response(
            gzip_tile(plain, settings.gzip_level), media_type=MVT_MEDIA_TYPE, headers=headers
        )
    headers["Content-Encoding"] = "identity"
    return Response(plain, media_type=MVT_MEDIA_TYPE, headers=headers)
