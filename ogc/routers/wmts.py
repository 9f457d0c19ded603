"""WMTS 1.0.0: GetCapabilities, GetTile and GetFeatureInfo, in KVP and RESTful encodings.

Every published layer is offered on every grid of ``tiles.grids``, vector layers as PNG and
MVT, raster layers as PNG. Errors are OWS ExceptionReport XML documents. Unlike OGC API
Tiles, an empty PNG tile is answered with a transparent 256×256 PNG: WMTS clients (QGIS,
ArcGIS, GDAL) expect an image for every tile inside the limits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.params import Path
from fastapi.responses import Response

from layers.access.caller import Caller
from layers.catalog import Catalog, Layer
from layers.errors import DatabaseUnavailable, NotFound, OneMapError
from ogc.common.tiles import not_modified, tile_response
from ogc.deps import BaseUrlDep, CallerDep, CatalogDep, PoolDep, ProducerDep, SettingsDep
from ogc.gate.visible import cache_scope, visible_layer, visible_layers
from tiles import featureinfo, grids, raster, wmts
from tiles.render import transparent_png
from tiles.service import MVT_MEDIA_TYPE, PNG_MEDIA_TYPE, TileProducer, tile_key

router = APIRouter(tags=["WMTS"])
XML = "application/xml"
REST = "/wmts/1.0.0/{layer}/{style}/{tms}/{matrix}/{row}"


def wmts_layer(layer: Layer) -> wmts.WmtsLayer:
    formats = (PNG_MEDIA_TYPE, MVT_MEDIA_TYPE) if layer.kind == "vector" else (PNG_MEDIA_TYPE,)
    bbox = layer.extent or (-180.0, -90.0, 180.0, 90.0)
    tms_ids = grids.list_tms()
    limits = {t: grids.matrix_limits(t, bbox, grids.level_range(t)) for t in tms_ids}
    return wmts.WmtsLayer(
        identifier=layer.id,
        title=layer.title,
        abstract=f"{layer.description_zh}\n{layer.description_en}".strip(),
        wgs84_bbox=bbox,
        formats=formats,
        tms_ids=tms_ids,
        limits=limits,
    )


_layers_memo: dict[tuple[str, int], wmts.WmtsLayer] = {}


def described(layer: Layer) -> wmts.WmtsLayer:
    key = (layer.id, layer.version)
    if key not in _layers_memo:
        _layers_memo[key] = wmts_layer(layer)
    return _layers_memo[key]


def xml_error(code: str, locator: str, text: str, status: int) -> Response:
    return Response(wmts.exception_report_xml(code, locator, text), status, media_type=XML)


def as_exception_report(exc: OneMapError) -> Response:
    if isinstance(exc, wmts.WmtsRequestError):
        return xml_error(exc.code, exc.locator, exc.message, exc.http_status)
    if isinstance(exc, NotFound):
        return xml_error("InvalidParameterValue", "Layer", exc.message, 400)
    if isinstance(exc, DatabaseUnavailable):
        return xml_error("NoApplicableCode", "", exc.message, 503)
    return xml_error("InvalidParameterValue", "", exc.message, 400)


def capabilities(catalog: Catalog, caller: Caller, settings: SettingsDep, base: str) -> Response:
    service = wmts.ServiceInfo(
        title=settings.title,
        abstract=settings.description,
        keywords=[k.strip() for k in settings.service_keywords.split(",") if k.strip()],
        provider_name=settings.provider_name,
        provider_site=settings.provider_site or base,
        contact_email=settings.contact_email,
        base_url=base,
    )
    layers = [described(layer) for layer in visible_layers(catalog, caller)]
    body = wmts.capabilities_xml(service, layers, grids.list_tms())
    return Response(body, media_type=XML)


async def get_tile(
    request: Request,
    catalog: Catalog,
    caller: Caller,
    producer: TileProducer,
    max_age: int,
    parsed: wmts.GetTileRequest,
) -> Response:
    layer = visible_layer(catalog, parsed.layer, caller)
    wmts.check_offered(described(layer), parsed)
    z, row, col = parsed.tile_matrix, parsed.tile_row, parsed.tile_col
    fmt = "png" if parsed.format == PNG_MEDIA_TYPE else "mvt"
    properties = layer.field_names if fmt == "mvt" else None
    scope = cache_scope(layer, caller)
    key = tile_key(layer, parsed.tile_matrix_set, z, row, col, fmt, properties, scope=scope)
    cached = not_modified(request, key, max_age)
    if cached is not None:
        return cached
    if fmt == "png":
        tile = await producer.map_tile(layer, parsed.tile_matrix_set, z, row, col, scope=scope)
    else:
        tile = await producer.vector_tile(
            layer, parsed.tile_matrix_set, z, row, col, layer.field_names, scope=scope
        )
    return tile_response(request, tile, max_age, transparent_png() if fmt == "png" else None)


async def get_feature_info(
    catalog: Catalog, caller: Caller, pool: PoolDep, parsed: wmts.GetFeatureInfoRequest
) -> Response:
    layer = visible_layer(catalog, parsed.tile.layer, caller)
    wmts.check_offered(described(layer), parsed)
    tile = parsed.tile
    if layer.kind == "raster":
        return await raster_info(layer, parsed)
    statement, params = featureinfo.feature_info_query(
        layer,
        tile.tile_matrix_set,
        tile.tile_matrix,
        tile.tile_row,
        tile.tile_col,
        parsed.i,
        parsed.j,
    )
    async with pool.connection() as conn:
        rows = await (await conn.execute(statement, params)).fetchall()
    features = [row[0] for row in rows]
    if parsed.info_format == "text/html":
        return Response(featureinfo.feature_html(layer, features), media_type="text/html")
    return Response(featureinfo.feature_collection(features), media_type="application/json")


async def raster_info(layer: Layer, parsed: wmts.GetFeatureInfoRequest) -> Response:
    """The raster value under the pixel, as one point feature."""
    tile = parsed.tile
    lon, lat = featureinfo.pixel_lonlat(
        tile.tile_matrix_set, tile.tile_matrix, tile.tile_row, tile.tile_col, parsed.i, parsed.j
    )
    if not layer.asset_path:
        raise NotFound(f"raster layer '{layer.id}' has no asset for version {layer.version}")
    value = await asyncio.to_thread(raster.value_at, layer.asset_path, lon, lat)
    features = [] if value is None else [featureinfo.point_feature(lon, lat, {"value": value})]
    if parsed.info_format == "text/html":
        return Response(featureinfo.feature_html(layer, features), media_type="text/html")
    return Response(featureinfo.feature_collection(features), media_type="application/json")


@router.get("/wmts", summary="WMTS 1.0.0 KVP (GetCapabilities, GetTile, GetFeatureInfo)")
async def wmts_kvp(
    request: Request,
    catalog: CatalogDep,
    caller: CallerDep,
    producer: ProducerDep,
    pool: PoolDep,
    settings: SettingsDep,
    base: BaseUrlDep,
) -> Response:
    params: Mapping[str, str] = dict(request.query_params)
    try:
        operation = wmts.kvp_operation(params)
        if operation == "GetCapabilities":
            return capabilities(catalog, caller, settings, base)
        if operation == "GetTile":
            parsed = wmts.parse_kvp_tile_request(params)
            max_age = settings.tile_cache_max_age
            return await get_tile(request, catalog, caller, producer, max_age, parsed)
        info = wmts.parse_kvp_feature_info_request(params)
        return await get_feature_info(catalog, caller, pool, info)
    except OneMapError as exc:
        return as_exception_report(exc)


@router.get("/wmts/1.0.0/WMTSCapabilities.xml", summary="WMTS capabilities (RESTful)")
def wmts_rest_capabilities(
    catalog: CatalogDep, caller: CallerDep, settings: SettingsDep, base: BaseUrlDep
) -> Response:
    return capabilities(catalog, caller, settings, base)


def _split(name: str) -> tuple[str, str]:
    stem, _, extension = name.rpartition(".")
    return (stem, extension) if stem else (name, "")


Segment = Annotated[str, Path()]


@router.get(REST + "/{col_ext}", summary="WMTS GetTile (RESTful)")
async def wmts_rest_tile(
    request: Request,
    catalog: CatalogDep,
    caller: CallerDep,
    producer: ProducerDep,
    settings: SettingsDep,
    layer: Segment,
    style: Segment,
    tms: Segment,
    matrix: Segment,
    row: Segment,
    col_ext: Segment,
) -> Response:
    col, extension = _split(col_ext)
    try:
        parsed = wmts.parse_rest_tile_request(
            layer=layer,
            style=style,
            tms_id=tms,
            tile_matrix=matrix,
            row=row,
            col=col,
            extension=extension,
        )
        max_age = settings.tile_cache_max_age
        return await get_tile(request, catalog, caller, producer, max_age, parsed)
    except OneMapError as exc:
        return as_exception_report(exc)


@router.get(REST + "/{col}/{j}/{i_ext}", summary="WMTS GetFeatureInfo (RESTful)")
async def wmts_rest_feature_info(
    catalog: CatalogDep,
    caller: CallerDep,
    pool: PoolDep,
    layer: Segment,
    style: Segment,
    tms: Segment,
    matrix: Segment,
    row: Segment,
    col: Segment,
    j: Segment,
    i_ext: Segment,
) -> Response:
    i, extension = _split(i_ext)
    try:
        parsed = wmts.parse_rest_feature_info_request(
            layer=layer,
            style=style,
            tms_id=tms,
            tile_matrix=matrix,
            row=row,
            col=col,
            j=j,
            i=i,
            extension=extension,
        )
        return await get_feature_info(catalog, caller, pool, parsed)
    except OneMapError as exc:
        return as_exception_report(exc)
