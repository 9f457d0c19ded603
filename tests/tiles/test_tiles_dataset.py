"""Dataset tilesets (OGC API – Tiles): /tiles, /tiles/{tms}, and the tiles they point to."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.tiles.helpers import decode, tile_at
from tiles import grids

TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"


def _rel(doc: dict[str, Any], rel: str) -> dict[str, Any]:
    return next(item for item in doc["links"] if item["rel"] == rel)


def test_tilesets_list_offers_every_grid(tiles_client: TestClient) -> None:
    doc = tiles_client.get("/tiles", params={"collections": "gd-cities"}).json()
    assert [t["tileMatrixSetURI"].rsplit("/", 1)[-1] for t in doc["tilesets"]] == grids.list_tms()
    for tileset in doc["tilesets"]:
        assert tileset["dataType"] == "vector"
        assert "collections=gd-cities" in _rel(tileset, "self")["href"]
        scheme = _rel(tileset, TILING_SCHEME)["href"]
        assert tiles_client.get(scheme.split("testserver", 1)[-1]).status_code == 200


def test_tileset_describes_the_selection_and_its_tiles_work(tiles_client: TestClient) -> None:
    params = {"collections": "gd-cities,gd-counties"}
    doc = tiles_client.get("/tiles/WebMercatorQuad", params=params).json()
    assert [layer["id"] for layer in doc["layers"]] == ["gd-cities", "gd-counties"]
    assert doc["layers"][0]["geometryDimension"] == 2
    assert doc["tileMatrixSetLimits"] and doc["boundingBox"]["lowerLeft"][0] > 109
    item = _rel(doc, "item")
    assert item["templated"] and item["type"] == "application/vnd.mapbox-vector-tile"
    row, col = tile_at("WebMercatorQuad", 8)
    url = item["href"].replace("{tileMatrix}", "8").replace("{tileRow}", str(row))
    tile = tiles_client.get(url.replace("{tileCol}", str(col)).split("testserver", 1)[-1])
    assert tile.status_code == 200
    assert set(decode(tile.content)) == {"gd-cities", "gd-counties"}


def test_tileset_defaults_to_every_vector_collection(tiles_client: TestClient) -> None:
    doc = tiles_client.get("/tiles/CGCS2000Quad").json()
    collections = tiles_client.get("/collections").json()["collections"]
    vector = {c["id"] for c in collections if c.get("itemType") == "feature"}
    assert {layer["id"] for layer in doc["layers"]} == vector
    assert (
        f"collections={','.join(layer['id'] for layer in doc['layers'])}"
        in _rel(doc, "item")["href"]
    )


def test_bad_selections_are_client_errors(tiles_client: TestClient) -> None:
    assert tiles_client.get("/tiles/NoSuchGrid").status_code == 404
    assert tiles_client.get("/tiles", params={"collections": "no-such"}).status_code == 404
    assert (
        tiles_client.get("/tiles/WebMercatorQuad", params={"collections": " "}).status_code == 400
    )


def test_landing_page_and_conformance_declare_dataset_tilesets(tiles_client: TestClient) -> None:
    landing = tiles_client.get("/").json()
    vector = [x["href"] for x in landing["links"] if x["rel"].endswith("tilesets-vector")]
    assert [href.rsplit("/", 1)[-1] for href in vector] == ["tiles"]
    classes = tiles_client.get("/conformance").json()["conformsTo"]
    assert any(c.endswith("/conf/dataset-tilesets") for c in classes)
    assert any(c.endswith("/conf/collections-selection") for c in classes)
