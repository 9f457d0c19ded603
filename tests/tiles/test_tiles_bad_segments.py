"""Control characters and absurd lengths in tile path segments: a 4xx naming the parameter,
never a 500, on every tile route (OGC API Tiles, dataset tiles, TMS, WMTS REST and KVP)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

OWS = "{http://www.opengis.net/ows/1.1}"
BAD = ["Web%00Quad", "Web%07Quad", "x" * 3000]
C = "/collections/gd-cities"


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize(
    "template",
    [
        "/tileMatrixSets/{bad}",
        C + "/tiles/{bad}",
        C + "/map/tiles/{bad}",
        C + "/tiles/{bad}/3/3/6",
        C + "/map/tiles/{bad}/3/3/6",
        C + "/tiles/{bad}/tilejson.json",
        "/tiles/{bad}?collections=gd-cities",
        "/tiles/{bad}/3/3/6?collections=gd-cities",
    ],
)
def test_ogc_api_tile_routes_name_the_tile_matrix_set(
    tiles_client: TestClient, template: str, bad: str
) -> None:
    response = tiles_client.get(template.format(bad=bad))
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert detail.startswith("tileMatrixSetId: unknown tile matrix set")
    assert len(detail) < 300  # an absurd id is not echoed back


@pytest.mark.parametrize("bad", ["%00", "1%00", "%07", "9" * 3000])
@pytest.mark.parametrize("segment", ["tileMatrix", "tileRow", "tileCol"])
def test_tile_indices_are_400_or_404_naming_the_index(
    tiles_client: TestClient, bad: str, segment: str
) -> None:
    indices = {"tileMatrix": "3", "tileRow": "3", "tileCol": "6"} | {segment: bad}
    tile = "/".join(indices.values())
    for path in (f"{C}/tiles/WebMercatorQuad/{tile}", f"{C}/map/tiles/WebMercatorQuad/{tile}"):
        response = tiles_client.get(path)
        assert response.status_code in (400, 404), path
        detail = response.json()["detail"]
        assert segment in detail or "level" in detail
        assert len(detail) < 300  # an absurd index is not echoed back whole


@pytest.mark.parametrize(
    ("path", "locator"),
    [
        ("/wmts/1.0.0/gd-cities/default/Web%00Quad/3/3/6.png", "TileMatrixSet"),
        ("/wmts/1.0.0/gd-cities/def%00ault/WebMercatorQuad/3/3/6.png", "Style"),
        ("/wmts/1.0.0/gd-cities/default/WebMercatorQuad/3%00/3/6.png", "TileMatrix"),
        ("/wmts/1.0.0/gd-cities/default/WebMercatorQuad/3/3%00/6.png", "TileRow"),
        ("/wmts/1.0.0/gd-cities/default/WebMercatorQuad/3/3/6%00.png", "TileCol"),
        ("/wmts/1.0.0/gd-cities/default/" + "x" * 3000 + "/3/3/6.png", "TileMatrixSet"),
        ("/wmts/1.0.0/gd-cities/default/WebMercatorQuad/3/" + "9" * 5000 + "/6.png", "TileRow"),
        ("/wmts/1.0.0/gd-cities/default/WebMercatorQuad/3/3/6/" + "9" * 5000 + "/1.json", "J"),
    ],
)
def test_wmts_rest_answers_an_exception_report(
    tiles_client: TestClient, path: str, locator: str
) -> None:
    response = tiles_client.get(path)
    assert response.status_code == 400
    assert len(response.content) < 2000  # an absurd value is not quoted back whole
    (exception,) = ET.fromstring(response.content)
    assert exception.tag == f"{OWS}Exception" and exception.get("locator") == locator


@pytest.mark.parametrize("suffix", ["\x00", "9" * 5000])
@pytest.mark.parametrize("name", ["TILEMATRIXSET", "TILEMATRIX", "TILEROW", "LAYER", "STYLE"])
def test_wmts_kvp_answers_an_exception_report(
    tiles_client: TestClient, name: str, suffix: str
) -> None:
    params = {
        "SERVICE": "WMTS",
        "REQUEST": "GetTile",
        "VERSION": "1.0.0",
        "LAYER": "gd-cities",
        "STYLE": "default",
        "FORMAT": "image/png",
        "TILEMATRIXSET": "WebMercatorQuad",
        "TILEMATRIX": "3",
        "TILEROW": "3",
        "TILECOL": "6",
    }
    params[name] = params[name] + suffix
    response = tiles_client.get("/wmts", params=params)
    assert response.status_code == 400
    (exception,) = ET.fromstring(response.content)
    assert exception.get("exceptionCode") in {"InvalidParameterValue", "TileOutOfRange"}
    assert (exception.get("locator") or "").upper() in {name, "LAYER"}


def test_style_and_tilejson_are_linked_and_feature_info_is_plain_geojson(
    tiles_client: TestClient,
) -> None:
    """(Beside the path checks for want of a better home: links of issue 11.)"""
    collection = tiles_client.get(C).json()
    tileset = tiles_client.get(C + "/tiles/CGCS2000Quad").json()
    for doc, tms in ((collection, "WebMercatorQuad"), (tileset, "CGCS2000Quad")):
        rels = {item["rel"]: item for item in doc["links"]}
        style, described = rels["stylesheet"], rels["describedby"]
        assert style["type"] == "application/vnd.mapbox.style+json"
        assert described["href"].endswith(f"/collections/gd-cities/tiles/{tms}/tilejson.json")
        for item in (style, described):
            assert tiles_client.get(item["href"]).status_code == 200
    raster = tiles_client.get("/collections").json()["collections"]
    for item in raster:
        if item.get("itemType") is None:  # raster layers have no MVT, so no style links
            assert "stylesheet" not in {link["rel"] for link in item["links"]}
    info = tiles_client.get(
        "/wmts/1.0.0/gd-cities/default/CGCS2000Quad/8/95/417/128/128.json"
    ).json()
    assert info["features"] and "crs" not in info
    assert all("crs" not in feature["geometry"] for feature in info["features"])
