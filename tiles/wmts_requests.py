"""WMTS 1.0.0 requests: KVP parsing and validation against the grids, with OGC exception codes.

Parameter names are case-insensitive (OWS Common 1.1); values are taken as sent, except the
SERVICE and REQUEST values, which clients send in any case. Problems are reported in
parameter order as :class:`WmtsRequestError`, an ``InvalidParameter`` that also carries the
OGC exception code, the locator (the parameter at fault) and the HTTP status WMTS pairs with
the code, so the web layer can answer with :func:`exception_report_xml`.

Which layers exist, and which styles and formats each offers, is the catalog's business:
check it with ``wmts.check_offered`` once the layer is known.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

from layers.errors import InvalidParameter
from tiles import grids

OWS_NS = "http://www.opengis.net/ows/1.1"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
OWS_EXCEPTION_SCHEMA_LOCATION = (
    f"{OWS_NS} http://schemas.opengis.net/ows/1.1.0/owsExceptionReport.xsd"
)
MVT = "application/vnd.mapbox-vector-tile"
TILE_FORMAT_EXTENSIONS: Mapping[str, str] = {"image/png": "png", MVT: "pbf"}
INFO_FORMAT_EXTENSIONS: Mapping[str, str] = {"application/json": "json", "text/html": "html"}
# RESTful file extensions; ".mvt" is accepted as a synonym of ".pbf".
EXTENSION_FORMATS: Mapping[str, str] = {
    **{ext: fmt for fmt, ext in TILE_FORMAT_EXTENSIONS.items()},
    "mvt": MVT,
    **{ext: fmt for fmt, ext in INFO_FORMAT_EXTENSIONS.items()},
}
OPERATIONS = ("GetCapabilities", "GetTile", "GetFeatureInfo")
WMTS_VERSION = "1.0.0"

# The exception codes of WMTS 1.0.0 (OGC 07-057r7) and OWS Common 1.1, with their HTTP status.
WMTS_EXCEPTION_STATUS: Mapping[str, int] = {
    "OperationNotSupported": 501,
    "MissingParameterValue": 400,
    "InvalidParameterValue": 400,
    "VersionNegotiationFailed": 400,
    "InvalidUpdateSequence": 400,
    "TileOutOfRange": 400,
    "PointIJOutOfRange": 400,
    "NoApplicableCode": 500,
}


class WmtsRequestError(InvalidParameter):
    """A bad WMTS request; ``code`` is the OGC exception code, ``locator`` the parameter."""

    def __init__(self, code: str, locator: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.locator = locator

    @property
    def http_status(self) -> int:
        """The status WMTS gives this code (501 for an unsupported operation, else 400)."""
        return WMTS_EXCEPTION_STATUS.get(self.code, 400)


@dataclass(frozen=True)
class GetTileRequest:
    """A valid GetTile: the tile exists in the grid (layer, style and format not yet checked)."""

    layer: str
    style: str
    format: str
    tile_matrix_set: str
    tile_matrix: int
    tile_row: int
    tile_col: int


@dataclass(frozen=True)
class GetFeatureInfoRequest:
    """A valid GetFeatureInfo: a GetTile plus the pixel (I column, J row) inside that tile."""

    tile: GetTileRequest
    i: int
    j: int
    info_format: str


MAX_INDEX_DIGITS = 9  # no grid has 10^9 rows; longer numbers are refused before int()
MAX_SHOWN = 40  # characters of a bad value quoted back in an error message


def _shown(value: str) -> str:
    """A bad value as quoted in a message: repr, cut to MAX_SHOWN characters."""
    if len(value) <= MAX_SHOWN:
        return repr(value)
    return f"{value[:MAX_SHOWN]!r}… ({len(value)} characters)"


def invalid_value(locator: str, message: str) -> WmtsRequestError:
    """An InvalidParameterValue error about ``locator``."""
    return WmtsRequestError("InvalidParameterValue", locator, message)


class _Kvp:
    """Request parameters keyed case-insensitively; locators use the standard's spelling."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self._values: dict[str, str] = {}
        for key, value in params.items():
            previous = self._values.setdefault(key.upper(), value.strip())
            if previous != value.strip():
                raise invalid_value(key, f"parameter {key} is given twice with different values")

    def optional(self, name: str) -> str:
        return self._values.get(name.upper(), "")

    def required(self, name: str) -> str:
        value = self.optional(name)
        if not value:
            raise WmtsRequestError("MissingParameterValue", name, f"parameter {name} is missing")
        return value

    def natural(self, name: str) -> int:
        value = self.required(name)
        if not (value.isascii() and value.isdigit()):
            message = f"parameter {name} must be a whole number ≥ 0, got {_shown(value)}"
            raise invalid_value(name, message)
        if len(value) > MAX_INDEX_DIGITS:
            message = f"parameter {name} has {len(value)} digits; it is out of range"
            code = "PointIJOutOfRange" if name in ("I", "J") else "TileOutOfRange"
            raise WmtsRequestError(code, name, message)
        return int(value)

    def one_of(self, name: str, allowed: Mapping[str, object] | tuple[str, ...]) -> str:
        value = self.required(name)
        if value not in allowed:
            raise invalid_value(
                name, f"{name} {_shown(value)} is not supported; use one of {list(allowed)}"
            )
        return value


def kvp_operation(params: Mapping[str, str]) -> str:
    """Check SERVICE (and for GetCapabilities, ACCEPTVERSIONS); return the REQUEST's name."""
    return _operation(_Kvp(params))


def _operation(kvp: _Kvp) -> str:
    service = kvp.required("Service")
    if service.upper() != "WMTS":
        raise invalid_value("Service", f"Service must be WMTS, got {_shown(service)}")
    request = kvp.required("Request")
    operation = next((op for op in OPERATIONS if op.lower() == request.lower()), None)
    if operation is None:
        message = f"Request {_shown(request)} is not supported; use one of {list(OPERATIONS)}"
        raise WmtsRequestError("OperationNotSupported", "Request", message)
    accepted = [v.strip() for v in kvp.optional("AcceptVersions").split(",") if v.strip()]
    if operation == "GetCapabilities" and accepted and WMTS_VERSION not in accepted:
        message = f"AcceptVersions {accepted} does not include {WMTS_VERSION}, the only version"
        raise WmtsRequestError("VersionNegotiationFailed", "AcceptVersions", message)
    return operation


def _expect(kvp: _Kvp, expected: str) -> None:
    operation = _operation(kvp)
    if operation != expected:
        raise invalid_value("Request", f"expected Request={expected}, got {operation}")
    version = kvp.required("Version")
    if version != WMTS_VERSION:
        raise invalid_value("Version", f"Version must be {WMTS_VERSION}, got {_shown(version)}")


def parse_kvp_tile_request(params: Mapping[str, str]) -> GetTileRequest:
    """Validate a KVP GetTile against the grids; raise WmtsRequestError naming the parameter."""
    kvp = _Kvp(params)
    _expect(kvp, "GetTile")
    return _tile_request(kvp)


def parse_kvp_feature_info_request(params: Mapping[str, str]) -> GetFeatureInfoRequest:
    """Validate a KVP GetFeatureInfo: the GetTile parameters plus I, J and INFOFORMAT."""
    kvp = _Kvp(params)
    _expect(kvp, "GetFeatureInfo")
    tile = _tile_request(kvp)
    matrix = grids.get_tms(tile.tile_matrix_set).matrix(tile.tile_matrix)
    i, j = kvp.natural("I"), kvp.natural("J")
    for name, value, size in (("I", i, matrix.tileWidth), ("J", j, matrix.tileHeight)):
        if value >= size:
            message = f"{name} {value} is outside 0..{size - 1} of a {size}-pixel tile"
            raise WmtsRequestError("PointIJOutOfRange", name, message)
    return GetFeatureInfoRequest(tile, i, j, kvp.one_of("InfoFormat", INFO_FORMAT_EXTENSIONS))


def _tile_request(kvp: _Kvp) -> GetTileRequest:
    layer, style = kvp.required("Layer"), kvp.required("Style")
    tile_format = kvp.one_of("Format", TILE_FORMAT_EXTENSIONS)
    tms_id = kvp.one_of("TileMatrixSet", tuple(grids.list_tms()))
    levels = grids.level_range(tms_id)
    tile_matrix = kvp.required("TileMatrix")
    if tile_matrix not in {str(level) for level in levels}:
        message = f"TileMatrix {_shown(tile_matrix)} is not a level of {tms_id} ({_span(levels)})"
        raise invalid_value("TileMatrix", message)
    level = int(tile_matrix)
    row, col = kvp.natural("TileRow"), kvp.natural("TileCol")
    columns, rows = grids.matrix_shape(tms_id, level)
    for name, value, size in (("TileRow", row, rows), ("TileCol", col, columns)):
        if value >= size:
            message = f"{name} {value} is outside 0..{size - 1} at TileMatrix {level} of {tms_id}"
            raise WmtsRequestError("TileOutOfRange", name, message)
    return GetTileRequest(layer, style, tile_format, tms_id, level, row, col)


def _span(levels: range) -> str:
    return f"{levels.start}..{levels.stop - 1}"


def parse_rest_tile_request(
    *, layer: str, style: str, tms_id: str, tile_matrix: str, row: str, col: str, extension: str
) -> GetTileRequest:
    """The RESTful tile path ``…/{layer}/{style}/{tms}/{matrix}/{row}/{col}.{ext}``, validated
    exactly like KVP (same codes and messages)."""
    params = _rest_params(
        layer=layer,
        style=style,
        tms_id=tms_id,
        tile_matrix=tile_matrix,
        row=row,
        col=col,
        extension=extension,
        format_key="Format",
    )
    return parse_kvp_tile_request({**params, "Request": "GetTile"})


def parse_rest_feature_info_request(
    *,
    layer: str,
    style: str,
    tms_id: str,
    tile_matrix: str,
    row: str,
    col: str,
    j: str,
    i: str,
    extension: str,
) -> GetFeatureInfoRequest:
    """The RESTful ``…/{row}/{col}/{J}/{I}.{json|html}``.

    The path names no tile format, so ``tile.format`` is set to PNG; ``check_offered`` does
    not check the tile format of feature info requests.
    """
    params = _rest_params(
        layer=layer,
        style=style,
        tms_id=tms_id,
        tile_matrix=tile_matrix,
        row=row,
        col=col,
        extension=extension,
        format_key="InfoFormat",
    )
    request = {**params, "Request": "GetFeatureInfo", "Format": "image/png", "I": i, "J": j}
    return parse_kvp_feature_info_request(request)


def _rest_params(
    *,
    layer: str,
    style: str,
    tms_id: str,
    tile_matrix: str,
    row: str,
    col: str,
    extension: str,
    format_key: str,
) -> dict[str, str]:
    media_type = EXTENSION_FORMATS.get(extension.lower().lstrip("."))
    if media_type is None:
        message = (
            f"file extension {_shown(extension)} is not supported;"
            f" use one of {list(EXTENSION_FORMATS)}"
        )
        raise invalid_value(format_key, message)
    return {
        "Service": "WMTS",
        "Version": WMTS_VERSION,
        "Layer": layer,
        "Style": style,
        "TileMatrixSet": tms_id,
        "TileMatrix": tile_matrix,
        "TileRow": row,
        "TileCol": col,
        format_key: media_type,
    }


def _xml_safe(text: str) -> str:
    """Characters XML 1.0 cannot carry (C0 controls such as a ``%00`` of a request) as
    ``\\xNN``, so an error about them is still a well-formed document."""
    return _XML_UNSAFE.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def exception_report_xml(code: str, locator: str, text: str) -> bytes:
    """An OWS 1.1 ExceptionReport, the body of every WMTS error; an empty locator is left out."""
    locator, text = _xml_safe(locator), _xml_safe(text)
    root = ET.Element(
        f"{{{OWS_NS}}}ExceptionReport",
        {
            "version": WMTS_VERSION,
            f"{{{XML_NS}}}lang": "en",
            f"{{{XSI_NS}}}schemaLocation": OWS_EXCEPTION_SCHEMA_LOCATION,
        },
    )
    attrs = {"exceptionCode": code, **({"locator": locator} if locator else {})}
    exception = ET.SubElement(root, f"{{{OWS_NS}}}Exception", attrs)
    ET.SubElement(exception, f"{{{OWS_NS}}}ExceptionText").text = text
    ET.register_namespace("ows", OWS_NS)
    ET.register_namespace("xsi", XSI_NS)
    return xml_document(root)


def xml_document(root: ET.Element) -> bytes:
    """UTF-8 bytes with the usual double-quoted declaration (ElementTree writes single quotes)."""
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode").encode()
