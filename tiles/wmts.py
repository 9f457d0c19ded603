"""The WMTS 1.0.0 (OGC 07-057r7) capabilities document, built from plain inputs.

The document advertises these routes, which the web layer must serve (``{base}`` is
``ServiceInfo.base_url``):

- KVP: ``{base}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities|GetTile|GetFeatureInfo&…``;
- RESTful capabilities: ``{base}/wmts/1.0.0/WMTSCapabilities.xml``;
- RESTful tiles: ``{base}/wmts/1.0.0/{layer}/{style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/``
  ``{TileCol}.png`` (``.pbf``, or ``.mvt``, for vector tiles); feature info appends
  ``/{J}/{I}.json`` or ``.html`` to the tile path without its extension.

TopLeftCorner is written in the axis order of the CRS, as WMTS requires: latitude first for
EPSG:4490 ("90 -180"), longitude first for OGC CRS84 ("-180 90"), easting first for EPSG:3857.
TMS 2.0 ``pointOfOrigin`` already follows that rule, so it is copied as is.

Request parsing lives in :mod:`tiles.wmts_requests` and is re-exported here, so the web layer
needs only this module.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from morecantile.models import TileMatrix

from layers.catalog import Layer
from tiles import grids
from tiles.grids import Bounds, TileMatrixLimits
from tiles.wmts_requests import (
    INFO_FORMAT_EXTENSIONS,
    MVT,
    OPERATIONS,
    OWS_NS,
    TILE_FORMAT_EXTENSIONS,
    XSI_NS,
    GetFeatureInfoRequest,
    GetTileRequest,
    WmtsRequestError,
    exception_report_xml,
    invalid_value,
    kvp_operation,
    parse_kvp_feature_info_request,
    parse_kvp_tile_request,
    parse_rest_feature_info_request,
    parse_rest_tile_request,
    xml_document,
)

__all__ = [
    "GetFeatureInfoRequest",
    "GetTileRequest",
    "ServiceInfo",
    "WmtsLayer",
    "WmtsRequestError",
    "capabilities_xml",
    "check_offered",
    "describe",
    "exception_report_xml",
    "kvp_operation",
    "ogc_urn",
    "parse_kvp_feature_info_request",
    "parse_kvp_tile_request",
    "parse_rest_feature_info_request",
    "parse_rest_tile_request",
    "rest_capabilities_url",
]

PNG = "image/png"
WMTS_NS = "http://www.opengis.net/wmts/1.0"
XLINK_NS = "http://www.w3.org/1999/xlink"
GML_NS = "http://www.opengis.net/gml"
WMTS_SCHEMA_LOCATION = (
    f"{WMTS_NS} http://schemas.opengis.net/wmts/1.0/wmtsGetCapabilities_response.xsd"
)
# Prefixes of the serialised documents ("" = default namespace).
_PREFIXES = {"": WMTS_NS, "ows": OWS_NS, "xlink": XLINK_NS, "xsi": XSI_NS}


@dataclass(frozen=True)
class ServiceInfo:
    """Who offers the service and where (``base_url`` without the ``/wmts`` part)."""

    title: str
    abstract: str
    keywords: Sequence[str]
    provider_name: str
    provider_site: str
    contact_email: str
    base_url: str


@dataclass(frozen=True)
class WmtsLayer:
    """One layer as WMTS describes it; ``limits`` maps a tms id to its per-level tile ranges."""

    identifier: str
    title: str
    abstract: str
    wgs84_bbox: Bounds
    formats: Sequence[str]
    tms_ids: Sequence[str]
    style: str = "default"
    limits: Mapping[str, Sequence[TileMatrixLimits]] = field(default_factory=dict)
    info_formats: Sequence[str] = ("application/json", "text/html")

    def __post_init__(self) -> None:
        # A wrong description is a programming error, so fail loudly here, not per request.
        _require_known("tile format", self.formats, TILE_FORMAT_EXTENSIONS)
        _require_known("info format", self.info_formats, INFO_FORMAT_EXTENSIONS)
        _require_known("tile matrix set", self.tms_ids, grids.list_tms())
        _require_known("limits tile matrix set", self.limits, self.tms_ids)


def describe(layer: Layer) -> WmtsLayer:
    """A catalog layer as WMTS offers it: every grid; PNG, and MVT for vector layers."""
    formats = (PNG, MVT) if layer.kind == "vector" else (PNG,)
    bbox = layer.extent or (-180.0, -90.0, 180.0, 90.0)
    tms_ids = grids.list_tms()
    limits = {t: grids.matrix_limits(t, bbox, grids.level_range(t)) for t in tms_ids}
    return WmtsLayer(
        identifier=layer.id,
        title=layer.title,
        abstract=f"{layer.description_zh}\n{layer.description_en}".strip(),
        wgs84_bbox=bbox,
        formats=formats,
        tms_ids=tms_ids,
        limits=limits,
    )


def _require_known(what: str, values: Iterable[str], known: Collection[str]) -> None:
    unknown = [value for value in values if value not in known]
    if unknown:
        raise ValueError(f"unsupported {what} {unknown}; use one of {list(known)}")


def check_offered(layer: WmtsLayer, request: GetTileRequest | GetFeatureInfoRequest) -> None:
    """Raise WmtsRequestError unless ``layer`` offers the request's style, format and grid.

    Levels outside ``layer.limits`` are refused, but rows and columns outside them are not:
    clients routinely ask for edge tiles, and an empty tile serves them better than an error.
    """
    tile = request.tile if isinstance(request, GetFeatureInfoRequest) else request
    name = layer.identifier
    if tile.style != layer.style:
        raise invalid_value("Style", f"layer {name} has style {layer.style!r}, not {tile.style!r}")
    if isinstance(request, GetFeatureInfoRequest):
        if request.info_format not in layer.info_formats:
            offered = list(layer.info_formats)
            raise invalid_value("InfoFormat", f"layer {name} answers feature info as {offered}")
    elif tile.format not in layer.formats:
        raise invalid_value("Format", f"layer {name} is offered as {list(layer.formats)}")
    if tile.tile_matrix_set not in layer.tms_ids:
        offered = list(layer.tms_ids)
        raise invalid_value("TileMatrixSet", f"layer {name} is offered on {offered}")
    limits = layer.limits.get(tile.tile_matrix_set)
    if limits and str(tile.tile_matrix) not in {level.tile_matrix for level in limits}:
        levels = [level.tile_matrix for level in limits]
        message = f"layer {name} has no TileMatrix {tile.tile_matrix}; levels: {levels}"
        raise WmtsRequestError("TileOutOfRange", "TileMatrix", message)


KVP_PATH = "/wmts"
REST_ROOT = "/wmts/1.0.0"
REST_CAPABILITIES = REST_ROOT + "/WMTSCapabilities.xml"
# The RESTful resources; the web layer declares its routes from these (``ogc.http.paths``).
REST_TILE = REST_ROOT + "/{layer}/{style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}"
REST_FEATURE_INFO = REST_TILE + "/{J}/{I}"


def kvp_url(base_url: str) -> str:
    """The KVP endpoint advertised in OperationsMetadata."""
    return f"{base_url.rstrip('/')}{KVP_PATH}"


def rest_root(base_url: str) -> str:
    """The root of the RESTful resources."""
    return f"{base_url.rstrip('/')}{REST_ROOT}"


def rest_capabilities_url(base_url: str) -> str:
    """The RESTful capabilities document (also the ServiceMetadataURL)."""
    return f"{base_url.rstrip('/')}{REST_CAPABILITIES}"


def capabilities_xml(
    service: ServiceInfo, layers: Sequence[WmtsLayer], tms_ids: Sequence[str]
) -> bytes:
    """The GetCapabilities response; every grid a layer links is described even if not listed."""
    root = ET.Element(
        _wmts("Capabilities"),
        {
            "version": "1.0.0",
            f"{{{XSI_NS}}}schemaLocation": WMTS_SCHEMA_LOCATION,
            # Declared like the reference documents do, though nothing here uses GML.
            "xmlns:gml": GML_NS,
        },
    )
    _service_identification(root, service)
    _service_provider(root, service)
    _operations_metadata(root, service.base_url)
    contents = _sub(root, _wmts("Contents"))
    for layer in layers:
        _layer(contents, layer, service.base_url)
    linked = [tms_id for layer in layers for tms_id in layer.tms_ids]
    for tms_id in dict.fromkeys([*tms_ids, *linked]):
        _tile_matrix_set(contents, tms_id)
    metadata_url = {_xlink("href"): rest_capabilities_url(service.base_url)}
    _sub(root, _wmts("ServiceMetadataURL"), metadata_url)
    return _serialise(root)


def _serialise(root: ET.Element) -> bytes:
    """UTF-8 bytes with an XML declaration and the conventional namespace prefixes."""
    for prefix, uri in _PREFIXES.items():
        ET.register_namespace(prefix, uri)  # idempotent; re-done in case another module changed it
    ET.indent(root)
    return xml_document(root)


def _wmts(name: str) -> str:
    return f"{{{WMTS_NS}}}{name}"


def _ows(name: str) -> str:
    return f"{{{OWS_NS}}}{name}"


def _xlink(name: str) -> str:
    return f"{{{XLINK_NS}}}{name}"


def _sub(
    parent: ET.Element, tag: str, attrs: Mapping[str, str] | None = None, text: str | None = None
) -> ET.Element:
    element = ET.SubElement(parent, tag, dict(attrs or {}))
    element.text = text
    return element


def _service_identification(root: ET.Element, service: ServiceInfo) -> None:
    ident = _sub(root, _ows("ServiceIdentification"))
    _sub(ident, _ows("Title"), text=service.title)
    _sub(ident, _ows("Abstract"), text=service.abstract)
    if service.keywords:
        keywords = _sub(ident, _ows("Keywords"))
        for keyword in service.keywords:
            _sub(keywords, _ows("Keyword"), text=keyword)
    _sub(ident, _ows("ServiceType"), text="OGC WMTS")
    _sub(ident, _ows("ServiceTypeVersion"), text="1.0.0")
    _sub(ident, _ows("Fees"), text="none")
    _sub(ident, _ows("AccessConstraints"), text="none")


def _service_provider(root: ET.Element, service: ServiceInfo) -> None:
    provider = _sub(root, _ows("ServiceProvider"))
    _sub(provider, _ows("ProviderName"), text=service.provider_name)
    _sub(provider, _ows("ProviderSite"), {_xlink("href"): service.provider_site})
    contact = _sub(provider, _ows("ServiceContact"))
    address = _sub(_sub(contact, _ows("ContactInfo")), _ows("Address"))
    _sub(address, _ows("ElectronicMailAddress"), text=service.contact_email)


def _operations_metadata(root: ET.Element, base_url: str) -> None:
    """Each operation with a KVP and a RESTful GET binding."""
    metadata = _sub(root, _ows("OperationsMetadata"))
    for operation in OPERATIONS:
        rest_href = (
            rest_capabilities_url(base_url)
            if operation == "GetCapabilities"
            else f"{rest_root(base_url)}/"
        )
        http = _sub(
            _sub(_sub(metadata, _ows("Operation"), {"name": operation}), _ows("DCP")), _ows("HTTP")
        )
        for href, encoding in ((f"{kvp_url(base_url)}?", "KVP"), (rest_href, "RESTful")):
            get = _sub(http, _ows("Get"), {_xlink("href"): href})
            constraint = _sub(get, _ows("Constraint"), {"name": "GetEncoding"})
            _sub(_sub(constraint, _ows("AllowedValues")), _ows("Value"), text=encoding)


def _layer(contents: ET.Element, layer: WmtsLayer, base_url: str) -> None:
    """A Layer, its children in the order the WMTS schema fixes."""
    element = _sub(contents, _wmts("Layer"))
    _sub(element, _ows("Title"), text=layer.title)
    _sub(element, _ows("Abstract"), text=layer.abstract)
    bbox = _sub(element, _ows("WGS84BoundingBox"))
    west, south, east, north = layer.wgs84_bbox
    _sub(bbox, _ows("LowerCorner"), text=_pair(west, south))
    _sub(bbox, _ows("UpperCorner"), text=_pair(east, north))
    _sub(element, _ows("Identifier"), text=layer.identifier)
    style = _sub(element, _wmts("Style"), {"isDefault": "true"})
    _sub(style, _ows("Identifier"), text=layer.style)
    for tile_format in layer.formats:
        _sub(element, _wmts("Format"), text=tile_format)
    for info_format in layer.info_formats:
        _sub(element, _wmts("InfoFormat"), text=info_format)
    for tms_id in layer.tms_ids:
        _tile_matrix_set_link(element, tms_id, layer.limits.get(tms_id, ()))
    _resource_urls(element, layer, base_url)


def _tile_matrix_set_link(
    layer: ET.Element, tms_id: str, limits: Sequence[TileMatrixLimits]
) -> None:
    link = _sub(layer, _wmts("TileMatrixSetLink"))
    _sub(link, _wmts("TileMatrixSet"), text=tms_id)
    if not limits:
        return
    set_limits = _sub(link, _wmts("TileMatrixSetLimits"))
    for level in limits:
        element = _sub(set_limits, _wmts("TileMatrixLimits"))
        _sub(element, _wmts("TileMatrix"), text=level.tile_matrix)
        _sub(element, _wmts("MinTileRow"), text=str(level.min_row))
        _sub(element, _wmts("MaxTileRow"), text=str(level.max_row))
        _sub(element, _wmts("MinTileCol"), text=str(level.min_col))
        _sub(element, _wmts("MaxTileCol"), text=str(level.max_col))


def _resource_urls(element: ET.Element, layer: WmtsLayer, base_url: str) -> None:
    """RESTful URL templates; the layer and style are fixed per layer, the rest are variables."""
    fixed = {"{layer}": quote(layer.identifier, safe=""), "{style}": quote(layer.style, safe="")}
    tile, info = REST_TILE, REST_FEATURE_INFO
    for variable, value in fixed.items():
        tile, info = tile.replace(variable, value), info.replace(variable, value)
    root = base_url.rstrip("/")
    for tile_format in layer.formats:
        template = f"{root}{tile}.{TILE_FORMAT_EXTENSIONS[tile_format]}"
        attrs = {"format": tile_format, "resourceType": "tile", "template": template}
        _sub(element, _wmts("ResourceURL"), attrs)
    for info_format in layer.info_formats:
        template = f"{root}{info}.{INFO_FORMAT_EXTENSIONS[info_format]}"
        attrs = {"format": info_format, "resourceType": "FeatureInfo", "template": template}
        _sub(element, _wmts("ResourceURL"), attrs)


def _tile_matrix_set(contents: ET.Element, tms_id: str) -> None:
    grid = grids.get_tms(tms_id)
    element = _sub(contents, _wmts("TileMatrixSet"))
    if grid.title:
        _sub(element, _ows("Title"), text=grid.title)
    _sub(element, _ows("Identifier"), text=tms_id)
    _sub(element, _ows("SupportedCRS"), text=ogc_urn(grid.crs.srs))
    if grid.wellKnownScaleSet is not None:
        _sub(element, _wmts("WellKnownScaleSet"), text=ogc_urn(str(grid.wellKnownScaleSet)))
    for matrix in grid.tileMatrices:
        _tile_matrix(element, matrix)


def _tile_matrix(tms: ET.Element, matrix: TileMatrix) -> None:
    element = _sub(tms, _wmts("TileMatrix"))
    _sub(element, _ows("Identifier"), text=matrix.id)
    _sub(element, _wmts("ScaleDenominator"), text=repr(matrix.scaleDenominator))
    _sub(element, _wmts("TopLeftCorner"), text=_pair(*matrix.pointOfOrigin))
    _sub(element, _wmts("TileWidth"), text=str(matrix.tileWidth))
    _sub(element, _wmts("TileHeight"), text=str(matrix.tileHeight))
    _sub(element, _wmts("MatrixWidth"), text=str(matrix.matrixWidth))
    _sub(element, _wmts("MatrixHeight"), text=str(matrix.matrixHeight))


def ogc_urn(uri: str) -> str:
    """``http://www.opengis.net/def/crs/EPSG/0/4490`` → ``urn:ogc:def:crs:EPSG::4490``: WMTS 1.0
    clients expect URNs, where the unversioned "0" is an empty field."""
    prefix = "http://www.opengis.net/def/"
    if not uri.startswith(prefix):
        return uri
    kind, authority, version, code = uri.removeprefix(prefix).split("/", 3)
    return f"urn:ogc:def:{kind}:{authority}:{'' if version == '0' else version}:{code}"


def _number(value: float) -> str:
    """Whole numbers without ".0" ("90 -180"), others with full precision (repr)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _pair(first: float, second: float) -> str:
    # One space: OWSLib splits TopLeftCorner on " ".
    return f"{_number(first)} {_number(second)}"
