"""Tile helpers shared by the OGC API – Tiles, dataset-tiles and WMTS routers: path
parameters, tile responses and revalidation, tileset documents and their links."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import Response

from layers.catalog import Layer
from layers.errors import InvalidParameter
from ogc.http import paths
from ogc.http.links import CRS84, JSON, epsg_uri, link, style_links
from ogc.http.policy import tile_cache_control
from tiles import grids
from tiles.cache import TileKey
from tiles.service import MVT_MEDIA_TYPE, Tile

TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/"


OGC_TMS_IDS = {"WebMercatorQuad", "WorldCRS84Quad"}


REL_TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"


REL_TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"


REL_TILESETS_MAP = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map"


PNG = "image/png"


TmsId = Annotated[str, Path(alias="tileMatrixSetId", description="Tile matrix set id")]


Level = Annotated[int, Path(alias="tileMatrix", description="Level (tile matrix id)")]


Row = Annotated[int, Path(alias="tileRow")]


Col = Annotated[int, Path(alias="tileCol")]


def crs_uri(tms_id: str) -> str:
    return CRS84 if tms_id == "WorldCRS84Quad" else epsg_uri(grids.tms_srid(tms_id))


def tms_uri(tms_id: str, base: str) -> str:
    if tms_id in OGC_TMS_IDS:
        return TMS_URI + tms_id
    return paths.href(base, paths.TILE_MATRIX_SET, tileMatrixSetId=tms_id)


def accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "")


def cache_headers(key: TileKey, max_age: int, identity: bool = False) -> dict[str, str]:
    return {"ETag": key.etag(identity), "Cache-Control": tile_cache_control(max_age)}


def not_modified(request: Request, key: TileKey, max_age: int) -> Response | None:
    """A 304 when the client already holds exactly this key's bytes."""
    sent = request.headers.get("if-none-match")
    if not sent:
        return None
    identity = key.fmt == "mvt" and not accepts_gzip(request)
    if key.etag(identity) in {tag.strip() for tag in sent.split(",")}:
        return Response(status_code=304, headers=cache_headers(key, max_age, identity))
    return None


def tile_response(
    request: Request, tile: Tile, max_age: int, empty_body: bytes | None = None
) -> Response:
    """The tile as stored (gzip for MVT, which nearly every client accepts), decompressed
    only for clients that refuse gzip; ``Content-Encoding`` is always set so the GZip
    middleware never recompresses a tile. Empty: 204, or ``empty_body`` (WMTS PNG)."""
    identity = tile.gzipped and not accepts_gzip(request)
    headers = cache_headers(tile.key, max_age, identity)
    if tile.empty and empty_body is None:
        return Response(status_code=204, headers=headers)
    if tile.gzipped and not identity:
        headers |= {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return Response(tile.data, media_type=tile.media_type, headers=headers)
    headers["Content-Encoding"] = "identity"
    body = tile.plain() if not tile.empty else empty_body or b""
    return Response(body, media_type=tile.media_type, headers=headers)


def check_in_limits(layer: Layer, tms_id: str, z: int, row: int, col: int) -> None:
    """404 for a tile outside the grid or outside the limits the tileset document lists."""
    if layer.extent:
        grids.check_within_limits(tms_id, layer.extent, z, row, col)
    else:
        grids.check_tile(tms_id, z, row, col)


async def serve_tile(
    request: Request,
    key: TileKey,
    max_age: int,
    work: Coroutine[Any, Any, Tile],
    empty_body: bytes | None = None,
) -> Response:
    cached = not_modified(request, key, max_age)
    if cached is not None:
        work.close()  # never started: a 304 needs neither the cache nor the database
        return cached
    tile = await work  # cancelled, with its SQL, if the client leaves (ogc.http.disconnect)
    return tile_response(request, tile, max_age, empty_body)


TMS1_COMPAT = "tms1"


def tiling_scheme_link(base: str, tms_id: str) -> dict[str, str]:
    """The tileset's link to its tile matrix set, with the TMS 1.0 members GDAL < 3.7 needs."""
    href = paths.href(base, paths.TILE_MATRIX_SET, tileMatrixSetId=tms_id)
    href += f"?compat={TMS1_COMPAT}"
    return link(href, REL_TILING_SCHEME, JSON, tms_id)


def tileset_summary(layer: Layer, tms_id: str, base: str, kind: str) -> dict[str, Any]:
    template = paths.COLLECTION_TILESET if kind == "vector" else paths.MAP_TILESET
    href = paths.href(base, template, collectionId=layer.id, tileMatrixSetId=tms_id)
    return {
        "title": f"{layer.title} ({tms_id})",
        "dataType": kind,
        "crs": crs_uri(tms_id),
        "tileMatrixSetURI": tms_uri(tms_id, base),
        "links": [
            link(href, "self", JSON, f"{kind} tileset on {tms_id}"),
            tiling_scheme_link(base, tms_id),
        ],
    }


def tileset_metadata(layer: Layer, tms_id: str, base: str, kind: str) -> dict[str, Any]:
    doc = tileset_summary(layer, tms_id, base, kind)
    tiles = paths.COLLECTION_TILE if kind == "vector" else paths.MAP_TILE
    template = paths.href(base, tiles, collectionId=layer.id, tileMatrixSetId=tms_id)
    media = MVT_MEDIA_TYPE if kind == "vector" else PNG
    doc["links"].append(tile_template(template, media))
    if layer.extent:
        doc |= limits_and_box(tms_id, layer.extent)
    if kind == "vector":
        doc["layers"] = [vector_layer(layer)]
        doc["links"] += style_links(base, layer.id, layer.kind, tms_id)
    return doc


def tile_template(template: str, media: str) -> dict[str, Any]:
    item: dict[str, Any] = link(template, "item", media, "Tiles")
    item["templated"] = True
    return item


def limits_and_box(tms_id: str, extent: tuple[float, float, float, float]) -> dict[str, Any]:
    """``tileMatrixSetLimits`` (tiles that can hold data, per level) and ``boundingBox``."""
    limits = grids.matrix_limits(tms_id, extent, list(grids.level_range(tms_id)))
    return {
        "tileMatrixSetLimits": [
            {
                "tileMatrix": item.tile_matrix,
                "minTileRow": item.min_row,
                "maxTileRow": item.max_row,
                "minTileCol": item.min_col,
                "maxTileCol": item.max_col,
            }
            for item in limits
        ],
        "boundingBox": {
            "lowerLeft": list(extent[:2]),
            "upperRight": list(extent[2:]),
            "crs": CRS84,
        },
    }


def vector_layer(layer: Layer) -> dict[str, Any]:
    """A layer of a vector tileset: its MVT layer name is the collection id."""
    return {
        "id": layer.id,
        "title": layer.title,
        "dataType": "vector",
        "geometryDimension": _dimension(layer.geometry_type),
        "propertiesSchema": {
            "type": "object",
            "properties": {f.name: {"type": f.type} for f in layer.fields},
        },
    }


def _dimension(geometry_type: str | None) -> int | None:
    kind = (geometry_type or "").upper()
    return 2 if "POLYGON" in kind else 1 if "LINE" in kind else 0 if "POINT" in kind else None


def tilesets_document(layer: Layer, base: str, kind: str) -> dict[str, Any]:
    tilesets = paths.COLLECTION_TILESETS if kind == "vector" else paths.MAP_TILESETS
    return {
        "links": [link(paths.href(base, tilesets, collectionId=layer.id), "self", JSON)],
        "tilesets": [tileset_summary(layer, t, base, kind) for t in grids.list_tms()],
    }


def require_vector(layer: Layer) -> None:
    if layer.kind != "vector":
        raise InvalidParameter(f"'{layer.id}' is a raster layer; see its map tiles")
