"""Part 3 through HTTP: filter, filter-lang, filter-crs, queryables, ?queryable=value."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

ITEMS = "/collections/gd-counties/items"
EVENTS = "/collections/feat-events/items"


def names(client: TestClient, url: str, **params: str) -> set[str]:
    response = client.get(url, params={"limit": "200", **params})
    assert response.status_code == 200, response.text
    return {f["properties"]["name"] for f in response.json()["features"]}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("adcode = '440106'", {"天河区"}),
        ("name LIKE '天河%'", {"天河区"}),
        ("adcode IN ('440106', '440104')", {"天河区", "越秀区"}),
        ("adcode BETWEEN '440103' AND '440104'", {"荔湾区", "越秀区"}),
        ("city_adcode = '440100' AND NOT adcode <> '440106'", {"天河区"}),
        ("CASEI(name) = CASEI('天河区')", {"天河区"}),
        ("S_INTERSECTS(geometry, POINT(113.36 23.13)) AND city_adcode = '440100'", {"天河区"}),
        ("S_CONTAINS(geometry, POINT(113.36 23.13))", {"天河区"}),
        ("S_INTERSECTS(geometry, BBOX(113.35, 23.12, 113.37, 23.14))", {"天河区"}),
    ],
)
def test_cql2_text_operators(client: TestClient, expression: str, expected: set[str]) -> None:
    assert names(client, ITEMS, filter=expression) == expected


def test_cql2_json(client: TestClient) -> None:
    expression = {"op": "=", "args": [{"property": "adcode"}, "440106"]}
    found = names(client, ITEMS, filter=json.dumps(expression), **{"filter-lang": "cql2-json"})
    assert found == {"天河区"}


def test_temporal_arithmetic_and_null(client: TestClient, events_layer: str) -> None:
    after = "T_AFTER(happened, TIMESTAMP('2025-06-03T00:00:00Z'))"
    assert names(client, EVENTS, filter=after) == {"天河事件4", "天河事件5"}  # 3 is equal
    during = "T_INTERSECTS(day, INTERVAL('2024-01-05', '2024-01-06'))"
    assert names(client, EVENTS, filter=during) == {"事件4", "事件5"}
    assert names(client, EVENTS, filter="magnitude * 2 = 22") == {"天河事件1", "事件22"}
    nulls = names(client, EVENTS, filter="magnitude IS NULL")
    assert len(nulls) == 4  # n = 7, 14, 21, 28


def test_filter_combines_with_other_parameters(client: TestClient) -> None:
    found = names(
        client, ITEMS, filter="name LIKE '%区'", city_adcode="440300", bbox="113.9,22.4,114.2,22.7"
    )
    assert found and all(n.endswith("区") for n in found)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"filter": "population > 3"}, "population"),
        ({"filter": "name = "}, ""),
        ({"filter": "adcode = 440106"}, "adcode"),
        ({"filter": "{", "filter-lang": "cql2-json"}, "JSON"),
        ({"filter": "name = 'x'", "filter-lang": "ecql"}, "filter-lang"),
        ({"filter": "name = 'x'", "filter-crs": "EPSG:32650"}, "filter-crs"),
        ({"adcode": "x", "filter": "S_INTERSECTS(geometry, POINT(1))"}, ""),
    ],
)
def test_filter_errors_are_400(client: TestClient, params: dict[str, str], needle: str) -> None:
    response = client.get(ITEMS, params=params)
    assert response.status_code == 400, response.text
    assert needle in response.json()["description"]


def test_runtime_data_errors_are_400(client: TestClient, events_layer: str) -> None:
    """A forged page token whose value the database cannot cast (SQLSTATE 22P02)."""
    token = base64.urlsafe_b64encode(json.dumps(["not a number", 1]).encode()).decode()
    response = client.get(EVENTS, params={"sortby": "magnitude", "after": token})
    assert response.status_code == 400, response.text
    assert "rejected a value" in response.json()["description"]


def test_queryables_document(client: TestClient) -> None:
    response = client.get("/collections/gd-counties/queryables")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/schema+json")
    body = response.json()
    assert body["$schema"].startswith("https://json-schema.org/draft/2020-12")
    assert body["properties"]["adcode"]["type"] == "string"
    assert body["properties"]["geometry"]["format"].startswith("geometry-")
    assert body["additionalProperties"] is False
    rels = [x["rel"] for x in client.get("/collections/gd-counties").json()["links"]]
    assert "http://www.opengis.net/def/rel/ogc/1.0/queryables" in rels


def test_conformance_lists_parts_2_and_3(client: TestClient) -> None:
    classes = client.get("/conformance").json()["conformsTo"]
    for needed in (
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    ):
        assert needed in classes
