"""WMTS KVP/RESTful request parsing and the OGC exception codes it reports (no database)."""

from __future__ import annotations

import pytest

from layers.errors import InvalidParameter
from tiles import grids, wmts

MVT = "application/vnd.mapbox-vector-tile"
GET_TILE = {
    "SERVICE": "WMTS",
    "REQUEST": "GetTile",
    "VERSION": "1.0.0",
    "LAYER": "admin_county",
    "STYLE": "default",
    "FORMAT": "image/png",
    "TILEMATRIXSET": "TiandituCGCS2000",
    "TILEMATRIX": "10",
    "TILEROW": "190",
    "TILECOL": "834",
}
GET_FEATURE_INFO = {
    **GET_TILE,
    "REQUEST": "GetFeatureInfo",
    "I": "12",
    "J": "200",
    "INFOFORMAT": "application/json",
}
LAYER = wmts.WmtsLayer(
    identifier="admin_county",
    title="Counties",
    abstract="",
    wgs84_bbox=(109.6, 20.1, 117.3, 25.6),
    formats=["image/png"],
    tms_ids=["WebMercatorQuad", "TiandituCGCS2000"],
    limits={
        "TiandituCGCS2000": grids.matrix_limits(
            "TiandituCGCS2000", (109.6, 20.1, 117.3, 25.6), range(1, 19)
        )
    },
    info_formats=["application/json"],
)


def error_of(params: dict[str, str]) -> wmts.WmtsRequestError:
    with pytest.raises(wmts.WmtsRequestError) as caught:
        wmts.parse_kvp_tile_request(params)
    return caught.value


def test_get_tile_is_parsed() -> None:
    assert wmts.parse_kvp_tile_request(GET_TILE) == wmts.GetTileRequest(
        layer="admin_county",
        style="default",
        format="image/png",
        tile_matrix_set="TiandituCGCS2000",
        tile_matrix=10,
        tile_row=190,
        tile_col=834,
    )


def test_parameter_names_are_case_insensitive() -> None:
    mixed = {
        key.lower() if i % 2 else key.title(): value
        for i, (key, value) in enumerate(GET_TILE.items())
    }
    mixed.update({"Service": "wmts", "request": "gettile"})  # these values too, as clients vary
    assert wmts.parse_kvp_tile_request(mixed) == wmts.parse_kvp_tile_request(GET_TILE)


def test_errors_are_invalid_parameter_with_ogc_code_and_locator() -> None:
    error = error_of({**GET_TILE, "TILEROW": "abc"})
    assert isinstance(error, InvalidParameter)
    assert (error.code, error.locator, error.http_status) == (
        "InvalidParameterValue",
        "TileRow",
        400,
    )
    assert "TileRow must be a whole number" in error.message


@pytest.mark.parametrize(
    ("key", "locator"),
    [
        ("SERVICE", "Service"),
        ("REQUEST", "Request"),
        ("VERSION", "Version"),
        ("LAYER", "Layer"),
        ("STYLE", "Style"),
        ("FORMAT", "Format"),
        ("TILEMATRIXSET", "TileMatrixSet"),
        ("TILEMATRIX", "TileMatrix"),
        ("TILEROW", "TileRow"),
        ("TILECOL", "TileCol"),
    ],
)
def test_missing_or_empty_parameters(key: str, locator: str) -> None:
    without = {k: v for k, v in GET_TILE.items() if k != key}
    for params in (without, {**GET_TILE, key: " "}):
        error = error_of(params)
        assert (error.code, error.locator) == ("MissingParameterValue", locator)
        assert error.message == f"parameter {locator} is missing"


@pytest.mark.parametrize(
    ("key", "value", "locator", "message"),
    [
        ("SERVICE", "WMS", "Service", "Service must be WMTS, got 'WMS'"),
        ("VERSION", "2.0.0", "Version", "Version must be 1.0.0"),
        ("REQUEST", "GetCapabilities", "Request", "expected Request=GetTile"),
        ("FORMAT", "image/gif", "Format", "Format 'image/gif' is not supported"),
        (
            "TILEMATRIXSET",
            "EPSG:4326",
            "TileMatrixSet",
            "TileMatrixSet 'EPSG:4326' is not supported",
        ),
        (
            "TILEMATRIX",
            "0",
            "TileMatrix",
            "TileMatrix '0' is not a level of TiandituCGCS2000 (1..24)",
        ),
        ("TILEMATRIX", "010", "TileMatrix", "not a level"),
        ("TILEROW", "-1", "TileRow", "TileRow must be a whole number ≥ 0, got '-1'"),
        ("TILECOL", "1.5", "TileCol", "TileCol must be a whole number"),
    ],
)
def test_invalid_values(key: str, value: str, locator: str, message: str) -> None:
    error = error_of({**GET_TILE, key: value})
    assert (error.code, error.locator) == ("InvalidParameterValue", locator)
    assert message in error.message


def test_unknown_request_is_operation_not_supported() -> None:
    error = error_of({**GET_TILE, "REQUEST": "GetMap"})
    assert (error.code, error.locator, error.http_status) == (
        "OperationNotSupported",
        "Request",
        501,
    )


def test_tiles_outside_the_matrix_are_tile_out_of_range() -> None:
    error = error_of(
        {
            **GET_TILE,
            "TILEMATRIXSET": "WebMercatorQuad",
            "TILEMATRIX": "3",
            "TILEROW": "9",
            "TILECOL": "0",
        }
    )
    assert (error.code, error.locator) == ("TileOutOfRange", "TileRow")
    assert error.message == "TileRow 9 is outside 0..7 at TileMatrix 3 of WebMercatorQuad"
    error = error_of({**GET_TILE, "TILEMATRIX": "1", "TILEROW": "0", "TILECOL": "2"})
    assert (error.code, error.locator) == ("TileOutOfRange", "TileCol")


def test_conflicting_duplicate_parameters_are_rejected() -> None:
    error = error_of({**GET_TILE, "TileRow": "191"})
    assert (error.code, error.locator) == ("InvalidParameterValue", "TileRow")
    assert wmts.parse_kvp_tile_request({**GET_TILE, "TileRow": "190"}).tile_row == 190


def test_kvp_operation() -> None:
    assert (
        wmts.kvp_operation({"service": "WMTS", "request": "GetCapabilities"}) == "GetCapabilities"
    )
    assert wmts.kvp_operation({"SERVICE": "wmts", "REQUEST": "gettile"}) == "GetTile"
    accepted = {"SERVICE": "WMTS", "REQUEST": "GetCapabilities", "ACCEPTVERSIONS": "2.0.0, 1.0.0"}
    assert wmts.kvp_operation(accepted) == "GetCapabilities"
    with pytest.raises(wmts.WmtsRequestError) as caught:
        wmts.kvp_operation({**accepted, "ACCEPTVERSIONS": "2.0.0"})
    assert (caught.value.code, caught.value.locator) == (
        "VersionNegotiationFailed",
        "AcceptVersions",
    )


def test_get_feature_info_is_parsed() -> None:
    request = wmts.parse_kvp_feature_info_request(GET_FEATURE_INFO)
    assert request.tile == wmts.parse_kvp_tile_request(GET_TILE)
    assert (request.i, request.j, request.info_format) == (12, 200, "application/json")


@pytest.mark.parametrize(
    ("changes", "code", "locator"),
    [
        ({"I": "256"}, "PointIJOutOfRange", "I"),
        ({"J": "300"}, "PointIJOutOfRange", "J"),
        ({"I": "x"}, "InvalidParameterValue", "I"),
        ({"J": ""}, "MissingParameterValue", "J"),
        ({"INFOFORMAT": ""}, "MissingParameterValue", "InfoFormat"),
        ({"INFOFORMAT": "text/xml"}, "InvalidParameterValue", "InfoFormat"),
        ({"REQUEST": "GetTile"}, "InvalidParameterValue", "Request"),
        ({"TILEROW": "100000"}, "TileOutOfRange", "TileRow"),
    ],
)
def test_get_feature_info_errors(changes: dict[str, str], code: str, locator: str) -> None:
    with pytest.raises(wmts.WmtsRequestError) as caught:
        wmts.parse_kvp_feature_info_request({**GET_FEATURE_INFO, **changes})
    assert (caught.value.code, caught.value.locator) == (code, locator)


def test_restful_paths_are_validated_like_kvp() -> None:
    path = {"layer": "admin_county", "style": "default", "tms_id": "TiandituCGCS2000",
            "tile_matrix": "10", "row": "190", "col": "834"}  # fmt: skip
    assert wmts.parse_rest_tile_request(**path, extension="png") == wmts.parse_kvp_tile_request(
        GET_TILE
    )
    assert wmts.parse_rest_tile_request(**path, extension="mvt").format == MVT
    assert wmts.parse_rest_tile_request(**path, extension=".pbf").format == MVT
    with pytest.raises(wmts.WmtsRequestError) as caught:
        wmts.parse_rest_tile_request(**path, extension="jpg")
    assert (caught.value.code, caught.value.locator) == ("InvalidParameterValue", "Format")
    with pytest.raises(wmts.WmtsRequestError) as caught:
        wmts.parse_rest_tile_request(**{**path, "row": "999"}, extension="png")
    assert caught.value.code == "TileOutOfRange"
    info = wmts.parse_rest_feature_info_request(**path, j="200", i="12", extension="json")
    assert (info.i, info.j, info.info_format) == (12, 200, "application/json")


def test_check_offered_accepts_what_the_layer_offers() -> None:
    wmts.check_offered(LAYER, wmts.parse_kvp_tile_request(GET_TILE))
    wmts.check_offered(LAYER, wmts.parse_kvp_feature_info_request(GET_FEATURE_INFO))
    # Rows and columns outside the layer's limits still get a (blank) tile.
    wmts.check_offered(
        LAYER, wmts.parse_kvp_tile_request({**GET_TILE, "TILEROW": "0", "TILECOL": "0"})
    )


@pytest.mark.parametrize(
    ("changes", "code", "locator"),
    [
        ({"STYLE": "dark"}, "InvalidParameterValue", "Style"),
        ({"FORMAT": MVT}, "InvalidParameterValue", "Format"),
        (
            {"TILEMATRIXSET": "CGCS2000Quad", "TILEMATRIX": "9"},
            "InvalidParameterValue",
            "TileMatrixSet",
        ),
        ({"TILEMATRIX": "19", "TILEROW": "0", "TILECOL": "0"}, "TileOutOfRange", "TileMatrix"),
    ],
)
def test_check_offered_rejects_what_the_layer_lacks(
    changes: dict[str, str], code: str, locator: str
) -> None:
    request = wmts.parse_kvp_tile_request({**GET_TILE, **changes})
    with pytest.raises(wmts.WmtsRequestError) as caught:
        wmts.check_offered(LAYER, request)
    assert (caught.value.code, caught.value.locator) == (code, locator)


def test_check_offered_for_feature_info_checks_the_info_format_not_the_tile_format() -> None:
    html = wmts.parse_kvp_feature_info_request({**GET_FEATURE_INFO, "INFOFORMAT": "text/html"})
    with pytest.raises(wmts.WmtsRequestError) as caught:
        wmts.check_offered(LAYER, html)
    assert (caught.value.code, caught.value.locator) == ("InvalidParameterValue", "InfoFormat")
    vector = wmts.parse_kvp_feature_info_request({**GET_FEATURE_INFO, "FORMAT": MVT})
    wmts.check_offered(LAYER, vector)
