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
from layers.errors import NotFound, OneMapError, Unavailable
from layers.features.query import AreaClip
from layers.platform import AdminLayers
from ogc.common.tiles import not_modified, tile_response
from ogc.deps import (
    BaseUrlDep,
    CallerDep,
    CatalogDep,
    ProducerDep,
    ReadPoolDep,
    SettingsDep,
    SnapshotDep,
    count_restricted_read,
    state_of,
)
from ogc.errors import headers_of
from ogc.gate.areas import clip_for
from ogc.gate.denials import count_error
from ogc.gate.visible import cache_scope, visible_layer, visible_layers
from ogc.http import paths
from ogc.http.policy import REVALIDATE
from ogc.plans import Snapshot
from tiles import featureinfo, grids, raster, wmts
from tiles.render import transparent_png
from tiles.service import PNG_MEDIA_TYPE, TileProducer

router = APIRouter(tags=["WMTS"])
XML = "application/xml"


def xml_error(code: str, locator: str, text: str, status: int) -> Response:
    return Response(wmts.exception_report_xml(code, locator, text), status, media_type=XML)


def as_exception_report(request: Request, exc: OneMapError) -> Response:
    """The OWS exception report of a route's error — which the app's error handlers never
    see, so a denial among them (a hidden layer asked for by an identified caller) is
    counted here, as the handlers count it on every other path."""
    report = _exception_report(exc)
    count_error(state_of(request).access, request.scope, exc, report.status_code)
    return report


def _exception_report(exc: OneMapError) -> Response:
    if isinstance(exc, wmts.WmtsRequestError):
        return xml_error(exc.code, exc.locator, exc.message, exc.http_status)
    if isinstance(exc, NotFound):
        return xml_error("InvalidParameterValue", "Layer", exc.message, 400)
    if isinstance(exc, Unavailable):  # Retry-After as the one table says
        report = xml_error("NoApplicableCode", "", exc.message, 503)
        report.headers.update(headers_of(exc))
        return report
    return xml_error("InvalidParameterValue", "", exc.message, 400)


def capabilities(
    catalog: Catalog, plans: Snapshot, caller: Caller, settings: SettingsDep, base: str
) -> Response:
    service = wmts.ServiceInfo(
        title=settings.title,
        abstract=settings.description,
        keywords=list(settings.service_keywords),
        provider_name=settings.provider_name,
        provider_site=settings.provider_site or base,
        contact_email=settings.contact_email,
        base_url=base,
    )
    layers = [plans.tiles(layer).wmts for layer in visible_layers(catalog, caller)]
    body = wmts.capabilities_xml(service, layers, grids.list_tms())
    return Response(body, media_type=XML, headers={"Cache-Control": REVALIDATE})


async def get_tile(
    request: Request,
    catalog: Catalog,
    plans: Snapshot,
    caller: Caller,
    producer: TileProducer,
    max_age: int,
    parsed: wmts.GetTileRequest,
) -> Response:
    layer = visible_layer(catalog, parsed.layer, caller)
    count_restricted_read(state_of(request), layer, caller)
    plan = plans.tiles(layer)
    wmts.check_offered(plan.wmts, parsed)
    admin = state_of(request).settings.admin
    clip = await clip_for(plans, layer, caller, producer.reads.pool(), admin)
    z, row, col, tms = parsed.tile_matrix, parsed.tile_row, parsed.tile_col, parsed.tile_matrix_set
    fmt = "png" if parsed.format == PNG_MEDIA_TYPE else "mvt"
    fields = layer.field_names
    scope = cache_scope(layer, caller)
    if fmt == "png":
        tile = await producer.map_tile(plan, tms, z, row, col, scope=scope, clip=clip)
    else:
        tile = await producer.vector_tile(plan, tms, z, row, col, fields, scope=scope, clip=clip)
    return not_modified(request, tile, max_age) or tile_response(
        request, tile, max_age, transparent_png() if fmt == "png" else None
    )


async def get_feature_info(
    request: Request,
    catalog: Catalog,
    plans: Snapshot,
    caller: Caller,
    pool: ReadPoolDep,
    admin: AdminLayers,
    parsed: wmts.GetFeatureInfoRequest,
) -> Response:
    layer = visible_layer(catalog, parsed.tile.layer, caller)
    count_restricted_read(state_of(request), layer, caller)
    wmts.check_offered(plans.tiles(layer).wmts, parsed)
    tile = parsed.tile
    clip = await clip_for(plans, layer, caller, pool, admin)
    if layer.kind == "raster":
        return await raster_info(layer, parsed, clip)
    statement, params = featureinfo.feature_info_query(
        layer,
        tile.tile_matrix_set,
        tile.tile_matrix,
        tile.tile_row,
        tile.tile_col,
        parsed.i,
        parsed.j,
        clip,
    )
    async with pool.connection() as conn:
        rows = await (await conn.execute(statement, params)).fetchall()
    features = [row[0] for row in rows]
    if parsed.info_format == "text/html":
        return Response(featureinfo.feature_html(layer, features), media_type="text/html")
    return Response(featureinfo.feature_collection(features), media_type="application/json")


async def raster_info(
    layer: Layer, parsed: wmts.GetFeatureInfoRequest, clip: AreaClip | None
) -> Response:
    """The raster value under the pixel, as one point feature (none outside the areas of an
    area-limited caller, ``clip``)."""
    tile = parsed.tile
    lon, lat = featureinfo.pixel_lonlat(
        tile.tile_matrix_set, tile.tile_matrix, tile.tile_row, tile.tile_col, parsed.i, parsed.j
    )
    if not layer.asset_path:
        raise NotFound(f"raster layer '{layer.id}' has no asset for version {layer.version}")
    area = clip.geometry if clip is not None else None
    value = await asyncio.to_thread(raster.value_at, layer.asset_path, lon, lat, area)
    features = [] if value is None else [featureinfo.point_feature(lon, lat, {"value": value})]
    if parsed.info_format == "text/html":
        return Response(featureinfo.feature_html(layer, features), media_type="text/html")
    return Response(featureinfo.feature_collection(features), media_type="application/json")


@router.get(paths.WMTS_KVP, summary="WMTS 1.0.0 KVP (GetCapabilities, GetTile, GetFeatureInfo)")
async def wmts_kvp(
    request: Request,
    catalog: CatalogDep,
    plans: SnapshotDep,
    caller: CallerDep,
    producer: ProducerDep,
    pool: ReadPoolDep,
    settings: SettingsDep,
    base: BaseUrlDep,
) -> Response:
    params: Mapping[str, str] = dict(request.query_params)
    try:
        operation = wmts.kvp_operation(params)
        if operation == "GetCapabilities":
            return capabilities(catalog, plans, caller, settings, base)
        max_age = settings.tile_cache_max_age
        if operation == "GetTile":
            parsed = wmts.parse_kvp_tile_request(params)
            return await get_tile(request, catalog, plans, caller, producer, max_age, parsed)
        info = wmts.parse_kvp_feature_info_request(params)
        return await get_feature_info(request, catalog, plans, caller, pool, settings.admin, info)
    except OneMapError as exc:
        return as_exception_report(request, exc)


@router.get(paths.WMTS_CAPABILITIES, summary="WMTS capabilities (RESTful)")
def wmts_rest_capabilities(
    catalog: CatalogDep,
    plans: SnapshotDep,
    caller: CallerDep,
    settings: SettingsDep,
    base: BaseUrlDep,
) -> Response:
    return capabilities(catalog, plans, caller, settings, base)


def _split(name: str) -> tuple[str, str]:
    stem, _, extension = name.rpartition(".")
    return (stem, extension) if stem else (name, "")


Segment = Annotated[str, Path()]
# The last segment carries the extension ("3.png", "7.json"): split by ``_split``.
TmsSegment = Annotated[str, Path(alias="TileMatrixSet")]
MatrixSegment = Annotated[str, Path(alias="TileMatrix")]
RowSegment = Annotated[str, Path(alias="TileRow")]
ColSegment = Annotated[str, Path(alias="TileCol")]


@router.get(paths.WMTS_TILE, summary="WMTS GetTile (RESTful)")
async def wmts_rest_tile(
    request: Request,
    catalog: CatalogDep,
    plans: SnapshotDep,
    caller: CallerDep,
    producer: ProducerDep,
    settings: SettingsDep,
    layer: Segment,
    style: Segment,
    tms: TmsSegment,
    matrix: MatrixSegment,
    row: RowSegment,
    col_ext: ColSegment,
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
        return await get_tile(request, catalog, plans, caller, producer, max_age, parsed)
    except OneMapError as exc:
        return as_exception_report(request, exc)


@router.get(paths.WMTS_FEATURE_INFO, summary="WMTS GetFeatureInfo (RESTful)")
async def wmts_rest_feature_info(
    request: Request,
    catalog: CatalogDep,
    plans: SnapshotDep,
    caller: CallerDep,
    pool: ReadPoolDep,
    settings: SettingsDep,
    layer: Segment,
    style: Segment,
    tms: TmsSegment,
    matrix: MatrixSegment,
    row: RowSegment,
    col: ColSegment,
    j: Annotated[str, Path(alias="J")],
    i_ext: Annotated[str, Path(alias="I")],
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
        return await get_feature_info(request, catalog, plans, caller, pool, settings.admin, parsed)
    except OneMapError as exc:
        return as_exception_report(request, exc)
