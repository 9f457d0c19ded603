"""A field marked internal (``secret`` of the gate's public layer) is absent for anonymous
callers on every path, and present for a government user."""

from __future__ import annotations

import csv
import gzip
import io
import json
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from layers.settings import ServiceSettings
from ogc.cli.main import cli
from tests.access.fields_areas_helpers import as_caller, callers
from tests.gate_fixtures import PUBLIC, gate_client
from tests.tiles.helpers import decode, tile_at

__all__ = ["callers", "gate_client"]  # the fixtures
TMS = "WebMercatorQuad"
GOV = as_caller("government")
ITEMS = f"/collections/{PUBLIC}/items"
POINT = (113.25, 23.125)  # the fourth and fifth of the gate's points lie near it


def _properties(client: TestClient, headers: dict[str, str], **params: str) -> list[dict]:
    answer = client.get(ITEMS, params={"limit": "50", **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    return [f["properties"] for f in answer.json()["features"]]


def test_items_geojson_seq_csv_and_html(callers: TestClient) -> None:
    assert all(set(p) == {"name"} for p in _properties(callers, {}))
    assert all("secret" in p for p in _properties(callers, GOV))
    seq = callers.get(ITEMS, params={"f": "geojsonseq"}).text
    records = [json.loads(r) for r in seq.split("\x1e") if r.strip()]
    assert records and all("secret" not in r["properties"] for r in records)
    rows = list(csv.reader(io.StringIO(callers.get(ITEMS, params={"f": "csv"}).text)))
    assert "secret" not in rows[0] and all("机密" not in cell for row in rows for cell in row)
    gov_rows = list(
        csv.reader(io.StringIO(callers.get(ITEMS, params={"f": "csv"}, headers=GOV).text))
    )
    assert "secret" in gov_rows[0]
    page = callers.get(ITEMS, params={"f": "html"}).text
    assert "机密" not in page and "secret" not in page
    assert "机密" in callers.get(ITEMS, params={"f": "html"}, headers=GOV).text


def test_single_feature_fast_path_and_route(callers: TestClient) -> None:
    fid = callers.get(ITEMS, params={"limit": "1"}).json()["features"][0]["id"]
    for params in ({}, {"properties": "name"}, {"f": "html"}):
        answer = callers.get(f"{ITEMS}/{fid}", params=params)
        assert answer.status_code == 200
        assert "机密" not in answer.text and "secret" not in answer.text
    assert "secret" in callers.get(f"{ITEMS}/{fid}", headers=GOV).json()["properties"]


@pytest.mark.parametrize(
    "params",
    [
        {"properties": "secret"},
        {"sortby": "secret"},
        {"filter": "secret = '机密1'"},
        {"secret": "机密1"},
        {"secret": "机密*"},
    ],
)
def test_a_hidden_field_is_an_unknown_field(callers: TestClient, params: dict[str, str]) -> None:
    answer = callers.get(ITEMS, params=params)
    assert answer.status_code == 400, answer.text
    assert callers.get(ITEMS, params=params, headers=GOV).status_code == 200


def test_queryables_openapi_collection_and_tilejson(callers: TestClient) -> None:
    queryables = callers.get(f"/collections/{PUBLIC}/queryables").json()["properties"]
    assert "secret" not in queryables and "name" in queryables
    assert (
        "secret"
        in callers.get(f"/collections/{PUBLIC}/queryables", headers=GOV).json()["properties"]
    )
    assert "secret" not in _openapi_items(callers, {})
    assert "secret" in _openapi_items(callers, GOV)
    assert "secret" not in callers.get(f"/collections/{PUBLIC}").text
    assert "secret" not in callers.get(f"/collections/{PUBLIC}", params={"f": "html"}).text
    tilejson = callers.get(f"/collections/{PUBLIC}/tiles/{TMS}/tilejson.json").json()
    assert set(tilejson["vector_layers"][0]["fields"]) == {"name"}
    tileset = callers.get(f"/collections/{PUBLIC}/tiles/{TMS}").json()
    assert set(tileset["layers"][0]["propertiesSchema"]["properties"]) == {"name"}
    gov = callers.get(f"/collections/{PUBLIC}/tiles/{TMS}/tilejson.json", headers=GOV).json()
    assert "secret" in gov["vector_layers"][0]["fields"]


def _openapi_items(client: TestClient, headers: dict[str, str]) -> str:
    """The OpenAPI operation of the layer's items, as text (its queryable parameters)."""
    document = client.get("/api", headers=headers).json()
    return json.dumps(document["paths"][ITEMS], ensure_ascii=False)


def _tile_properties(client: TestClient, path: str, headers: dict[str, str]) -> list[dict]:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    return [f["properties"] for layer in decode(answer.content).values() for f in layer["features"]]


def test_vector_tiles_of_every_path(callers: TestClient) -> None:
    row, col = tile_at(TMS, 11, *POINT)
    paths = [
        f"/collections/{PUBLIC}/tiles/{TMS}/11/{row}/{col}",
        f"/wmts/1.0.0/{PUBLIC}/default/{TMS}/11/{row}/{col}.pbf",
        f"/tiles/{TMS}/11/{row}/{col}?collections={PUBLIC}",
    ]
    for path in paths:
        for _ in range(2):  # made, then from the cache (the fast path for the public)
            public = _tile_properties(callers, path, {})
            assert public and all(set(p) == {"name"} for p in public), path
        assert all("secret" in p for p in _tile_properties(callers, path, GOV)), path
    hidden = callers.get(f"{paths[0]}?properties=name,secret")
    assert hidden.status_code == 400


def test_feature_info_has_no_hidden_field(callers: TestClient) -> None:
    z = 13
    row, col = tile_at(TMS, z, 113.24, 23.12)
    path = f"/wmts/1.0.0/{PUBLIC}/default/{TMS}/{z}/{row}/{col}"
    found = False
    for i in range(0, 256, 8):
        for j in range(0, 256, 8):
            answer = callers.get(f"{path}/{j}/{i}.json")
            assert answer.status_code == 200
            features = answer.json()["features"]
            assert all(set(f["properties"]) == {"name"} for f in features)
            if features:
                gov = callers.get(f"{path}/{j}/{i}.json", headers=GOV).json()["features"]
                assert all("secret" in f["properties"] for f in gov)
                html = callers.get(f"{path}/{j}/{i}.html").text
                assert "机密" not in html and "secret" not in html
                found = True
                break
        if found:
            break
    assert found, "no pixel of the tile found a gate point"


def test_etags_carry_the_scope(callers: TestClient) -> None:
    """One URL, two scopes: different tags, and one scope's tag is no 304 for the other."""
    public = callers.get(ITEMS)
    gov = callers.get(ITEMS, headers=GOV)
    assert public.headers["etag"] != gov.headers["etag"]
    again = callers.get(ITEMS, headers={**GOV, "if-none-match": public.headers["etag"]})
    assert again.status_code == 200 and "secret" in again.text
    cached = callers.get(ITEMS, headers={"if-none-match": public.headers["etag"]})
    assert cached.status_code == 304
    row, col = tile_at(TMS, 12, *POINT)
    tile = f"/collections/{PUBLIC}/tiles/{TMS}/12/{row}/{col}"
    tag = callers.get(tile).headers["etag"]
    assert callers.get(tile, headers={**GOV, "if-none-match": tag}).status_code == 200
    assert callers.get(tile, headers={"if-none-match": tag}).status_code == 304


def test_wmts_capabilities_parse(callers: TestClient) -> None:
    root = ET.fromstring(callers.get("/wmts/1.0.0/WMTSCapabilities.xml").content)
    assert root.tag.endswith("Capabilities")


def test_public_edition_exports_have_no_hidden_field(
    settings: ServiceSettings, gate_client: TestClient, tmp_path: Path
) -> None:
    """``onemap tiles export --public``: the metadata and every tile without ``secret``."""
    assert settings.database_url
    env = {"ONEMAP_DATABASE_URL": settings.database_url, "ONEMAP_TILE_CACHE_DIR": str(tmp_path)}
    found: dict[bool, set[str]] = {}
    for public in (True, False):
        target = tmp_path / f"export-{public}.mbtiles"
        args = [
            "tiles",
            "export",
            PUBLIC,
            "--format",
            "mbtiles",
            "--zoom",
            "8-10",
            "-o",
            str(target),
        ]
        exported = CliRunner().invoke(cli, [*args, *(["--public"] if public else [])], env=env)
        assert exported.exit_code == 0, exported.output
        with sqlite3.connect(target) as db:
            meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
            blobs = [row[0] for row in db.execute("SELECT tile_data FROM tiles").fetchall()]
        fields = set(json.loads(meta["json"])["vector_layers"][0]["fields"])
        attributes = {
            key for blob in blobs for layer in decode(gzip.decompress(blob)).values()
            for feature in layer["features"] for key in feature["properties"]
        }  # fmt: skip
        assert blobs
        found[public] = fields | attributes
    assert found[True] == {"name"} and found[False] == {"name", "secret"}
