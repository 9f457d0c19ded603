"""``GET /search`` over the bundled Guangdong layers and a fixture layer: names whole and
partial, adcodes in 6- and 9-digit form and as prefixes, the ranking, bbox / adcode /
layers, links behind a proxy, the OpenAPI description and every bad parameter's 400."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from ingest.sample import SAMPLE_LAYERS, SYNTHETIC_LAYERS
from layers.settings import ServiceSettings
from tests.gate_fixtures import catalog_of
from tests.helpers.catalog import fixture_meta, register_table
from tests.helpers.wait import wait_for
from tests.search.helpers import NAME_FIELDS

PLACES, PLACES_TABLE = "search-places", "search_places_v1"
PLACES_SQL = """
CREATE TABLE IF NOT EXISTS onemap_data.search_places_v1 (
    fid bigint PRIMARY KEY DEFAULT nextval('onemap.feature_id_seq'),
    name text, geom geometry(Point, 4490));
TRUNCATE onemap_data.search_places_v1;
INSERT INTO onemap_data.search_places_v1 (name, geom) VALUES
    ('天河区', ST_SetSRID(ST_MakePoint(113.36, 23.12), 4490)),
    ('天河公园', ST_SetSRID(ST_MakePoint(113.37, 23.13), 4490)),
    ('Canton Tower 广州塔', ST_SetSRID(ST_MakePoint(113.32, 23.11), 4490)),
    ('ＳＨＥＮＺＨＥＮ　Bay', ST_SetSRID(ST_MakePoint(113.95, 22.50), 4490))
"""
BUNDLED = {layer[1] for layer in SAMPLE_LAYERS + SYNTHETIC_LAYERS}
PUBLIC = "https://map.example.gd.gov.cn/onemap"


@pytest.fixture(scope="module")
def places(client: TestClient, sample_url: str) -> TestClient:
    with psycopg.connect(sample_url) as conn:
        for statement in PLACES_SQL.split(";\n"):
            conn.execute(statement.encode())
        register_table(
            conn, fixture_meta(PLACES, "地名", "Places"), PLACES_TABLE, NAME_FIELDS, "Point"
        )
    wait_for(lambda: client.get(f"/collections/{PLACES}").status_code == 200, "no places layer")
    return client


def found(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/search", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["numberReturned"] == len(body["features"])
    features: list[dict[str, Any]] = body["features"]
    return features


def ours(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hits in the bundled layers and the fixture layer: other tests in the session publish
    layers of their own (a CLI test's copy of the counties, say) that rank among these."""
    return [f for f in features if f["properties"]["collection"] in BUNDLED | {PLACES}]


def names(features: list[dict[str, Any]]) -> list[str]:
    return [f["properties"]["name"] for f in features]


def test_a_county_by_its_name(places: TestClient) -> None:
    first = found(places, q="天河区")[0]
    props = first["properties"]
    assert props["name"] == "天河区" and props["collection"] == "gd-counties"
    assert props["kind"] == "admin" and props["level"] == "county" and props["adcode"] == "440106"
    assert props["collectionTitle"] == "广东省县级行政区"
    assert first["id"] == f"gd-counties/{props['href'].rsplit('/', 1)[1]}"
    minx, miny, maxx, maxy = first["bbox"]
    x, y = first["geometry"]["coordinates"]
    assert first["geometry"]["type"] == "Point" and minx <= x <= maxx and miny <= y <= maxy
    item = places.get(props["href"].removeprefix("http://testserver")).json()
    assert item["properties"]["adcode"] == "440106"


def test_admin_units_first_then_the_same_name_elsewhere_then_longer_names(
    places: TestClient,
) -> None:
    features = ours(found(places, q="天河区", limit=50))
    assert [(f["properties"]["collection"], f["properties"]["name"]) for f in features[:2]] == [
        ("gd-counties", "天河区"),
        (PLACES, "天河区"),
    ]
    assert features[1]["properties"]["kind"] == "feature"
    assert (
        features[1]["properties"]["adcode"] is None and features[1]["properties"]["level"] is None
    )
    rest = names(features[2:])
    assert "合成医院 天河区" in rest  # a synthetic facility whose name contains it
    assert all("天河区" in n.replace(" ", "") for n in rest)


def test_a_partial_name_prefix_before_substring(places: TestClient) -> None:
    got = names(ours(found(places, q="天河", limit=50)))
    assert got[:1] == ["天河区"] and "天河公园" in got
    last_prefix = max(i for i, n in enumerate(got) if n.startswith("天河"))
    first_inside = min(i for i, n in enumerate(got) if not n.startswith("天河"))
    assert last_prefix < first_inside


@pytest.mark.parametrize("q", ["440106", "156440106"])
def test_an_adcode_in_both_forms(places: TestClient, q: str) -> None:
    first = found(places, q=q)[0]["properties"]
    assert (first["name"], first["adcode"]) == ("天河区", "440106")


def test_an_adcode_prefix_lists_the_city_then_its_districts(places: TestClient) -> None:
    features = found(places, q="4401", limit=50)
    kinds = [f["properties"]["kind"] for f in features]
    admin = [f["properties"] for f in features[:12]]
    assert kinds[:12] == ["admin"] * 12 and "admin" not in kinds[12:]  # the city, 11 districts
    assert (admin[0]["name"], admin[0]["adcode"], admin[0]["level"]) == ("广州市", "440100", "city")
    codes = [p["adcode"] for p in admin[1:]]
    assert codes == sorted(codes) and all(c.startswith("4401") for c in codes)
    assert all("4401" in f["properties"]["name"] for f in features[12:])  # e.g. 合成县道 440103-1


def test_names_are_matched_without_case_width_or_spaces(places: TestClient) -> None:
    assert names(found(places, q="canton tower"))[:1] == ["Canton Tower 广州塔"]
    assert names(found(places, q="shenzhen bay"))[:1] == ["ＳＨＥＮＺＨＥＮ　Bay"]
    assert names(found(places, q="天河 区"))[:1] == ["天河区"]


def test_a_similar_name(places: TestClient) -> None:
    assert "天河公园" in names(found(places, q="天河公园x", layers=PLACES))


def test_bbox_keeps_results_inside_it(places: TestClient) -> None:
    inside = found(places, q="天河", bbox="113.369,23.129,113.371,23.131", limit=50)
    assert names(inside) == ["天河公园"]


def test_adcode_keeps_results_inside_the_unit(places: TestClient, sample_url: str) -> None:
    features = found(places, q="合成", adcode="440106", limit=50)
    assert features and "合成医院 天河区" in names(features)
    counties = catalog_of(places).layers["gd-counties"].table_name
    with psycopg.connect(sample_url) as conn:
        for feature in features:
            x, y = feature["geometry"]["coordinates"]
            row = conn.execute(
                f"SELECT ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4490)) "
                f"FROM onemap_data.{counties} WHERE adcode = '440106'",
                (x, y),
            ).fetchone()
            assert row is not None and row[0], feature["properties"]["name"]
    assert found(places, q="合成", adcode="156440106", limit=50) == features


def test_layers_restricts_the_collections(places: TestClient) -> None:
    features = found(places, q="天河", layers=f"{PLACES},gd-cities")
    assert {f["properties"]["collection"] for f in features} == {PLACES}


def test_links_start_with_the_public_url(settings: ServiceSettings, places: TestClient) -> None:
    from ogc.app import create_app

    proxied = settings.model_copy(update={"public_url": PUBLIC + "/"})
    with TestClient(create_app(proxied), base_url="http://10.1.2.3:8000") as client:
        response = client.get("/search", params={"q": "天河区"})
    body = response.json()
    assert body["links"][0]["href"] == f"{PUBLIC}/search?q=%E5%A4%A9%E6%B2%B3%E5%8C%BA"
    assert body["features"][0]["properties"]["href"].startswith(
        f"{PUBLIC}/collections/gd-counties/items/"
    )


def test_the_search_tables_are_built_at_publish(places: TestClient, sample_url: str) -> None:
    indexes = places.app.state.onemap.search  # type: ignore[attr-defined]
    catalog = catalog_of(places)
    for layer_id in ("gd-counties", "synthetic-facilities", PLACES):
        layer = catalog.layers[layer_id]
        wait_for(lambda layer=layer: indexes.table_for(layer, "name"), f"{layer_id}: no table")
    with psycopg.connect(sample_url) as conn:
        rows = conn.execute(
            "SELECT layer_id, row_count FROM onemap.search_indexes WHERE layer_id = ANY(%s)",
            (["gd-counties", PLACES],),
        ).fetchall()
    assert dict(rows) == {"gd-counties": 124, PLACES: 4}


def test_the_endpoint_is_in_the_openapi_document(client: TestClient) -> None:
    operation = client.get("/api").json()["paths"]["/search"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {"q", "limit", "bbox", "adcode", "layers"} <= set(parameters)
    assert parameters["q"]["required"] is True
    assert parameters["limit"]["schema"]["maximum"] == 50
    assert {"200", "400"} <= set(operation["responses"])
    assert "application/geo+json" in operation["responses"]["200"]["content"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "天" * 101}, "q"),
        ({"q": "天河", "limit": "0"}, "limit"),
        ({"q": "天河", "limit": "51"}, "limit"),
        ({"q": "天河", "limit": "ten"}, "limit"),
        ({"q": "天河", "bbox": "1,2,3"}, "bbox"),
        ({"q": "天河", "bbox": "113,23,114,95"}, "bbox"),
        ({"q": "天河", "adcode": "4401"}, "adcode"),
        ({"q": "天河", "adcode": "449999"}, "adcode"),
        ({"q": "天河", "layers": " , "}, "layers"),
        ({"q": "天河", "layers": "synthetic-stations"}, "layers"),
        ({"q": "天河", "f": "html"}, "f"),
        ({"q": "天河", "page": "2"}, "page"),
        ({"q": "天河\x00"}, "q"),
    ],
)
def test_bad_parameters_are_named_400s(
    places: TestClient, params: dict[str, str], named: str
) -> None:
    response = places.get("/search", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert named in response.json()["detail"]


def test_an_unknown_collection_is_the_usual_404(places: TestClient) -> None:
    response = places.get("/search", params={"q": "天河", "layers": "no-such-layer"})
    assert response.status_code == 404
    assert "no-such-layer" in response.json()["detail"]
