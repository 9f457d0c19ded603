"""``/api`` lists each collection's queryables as items parameters, and the items
endpoint honours every one of them (OGC API - Features Part 1, §7.15.5)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from ogc.common.items_request import ITEMS_PARAMETERS
from ogc.openapi.params import ITEMS_PARAMETERS_DOC
from tests.features.conftest import FIELDS, register_events
from tests.helpers.catalog import fixture_meta
from tests.helpers.wait import wait_for, wait_for_layer

LATE = "feat-late-layer"


def items_parameters(doc: dict[str, Any], collection: str) -> dict[str, dict[str, Any]]:
    """The parameters of ``/collections/<collection>/items``, ``$ref``s resolved."""
    found = {}
    for parameter in doc["paths"][f"/collections/{collection}/items"]["get"]["parameters"]:
        if "$ref" in parameter:
            parameter = doc["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        found[parameter["name"]] = parameter
    return found


def test_every_collection_has_its_items_path(client: TestClient, events_layer: str) -> None:
    doc = client.get("/api").json()
    validate(doc)  # still valid OpenAPI 3.0 with a concrete path beside the template
    listed = [c for c in client.get("/collections").json()["collections"] if "itemType" in c]
    assert listed, "the sample layers are vector collections"
    for collection in listed:
        parameters = items_parameters(doc, collection["id"])
        queryables = client.get(f"/collections/{collection['id']}/queryables").json()
        expected = {name for name, schema in queryables["properties"].items() if "type" in schema}
        assert expected - ITEMS_PARAMETERS <= set(parameters), collection["id"]
        assert "geometry" not in parameters, "the geometry takes no name=value parameter"
        for name in expected - ITEMS_PARAMETERS:  # what QGIS's OAPIF provider requires
            shape = {k: parameters[name][k] for k in ("in", "style", "explode")}
            assert shape == {"in": "query", "style": "form", "explode": False}, name
            assert isinstance(parameters[name]["schema"]["type"], str), name
        assert set(parameters) >= ITEMS_PARAMETERS, "the standard parameters stay listed"
    assert "/collections/{collectionId}/items" in doc["paths"], "generic path kept for others"


def test_parameters_are_typed_like_the_queryables(client: TestClient, events_layer: str) -> None:
    parameters = items_parameters(client.get("/api").json(), events_layer)
    assert parameters["name"]["schema"]["type"] == "string"
    assert parameters["magnitude"]["schema"]["type"] == "number"
    assert parameters["happened"]["schema"] == {
        "type": "string", "format": "date-time", "title": "time"
    }  # fmt: skip
    assert parameters["day"]["schema"]["format"] == "date"
    assert parameters["limit"]["schema"]["maximum"] == 1000, "the configured maximum"
    assert parameters["limit"]["schema"]["default"] == 10


def test_documented_standard_parameters_are_the_parsed_ones() -> None:
    assert {p["name"] for p in ITEMS_PARAMETERS_DOC} == ITEMS_PARAMETERS


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("name", "天河事件3"),
        ("adcode", "440106"),
        ("magnitude", "13"),
        ("happened", "2025-06-03T00:00:00Z"),
        ("day", "2025-06-04"),
    ],
)
def test_items_honour_each_listed_queryable(
    client: TestClient, events_layer: str, name: str, value: str
) -> None:
    assert name in items_parameters(client.get("/api").json(), events_layer)
    body = client.get(f"/collections/{events_layer}/items", params={name: value}).json()
    everything = client.get(f"/collections/{events_layer}/items").json()["numberMatched"]
    assert 1 <= body["numberMatched"] < everything, (name, body["numberMatched"])
    for feature in body["features"]:
        got = feature["properties"][name]
        if name == "magnitude":
            assert got == float(value)
        elif name == "happened":
            assert got.startswith("2025-06-03T00:00:00")
        else:
            assert got == value


def test_bad_values_and_the_geometry_are_400(client: TestClient, events_layer: str) -> None:
    for params, named in (
        ({"magnitude": "big"}, "magnitude"),
        ({"day": "yesterday"}, "day"),
        ({"geometry": "POINT(113 23)"}, "geometry"),
    ):
        response = client.get(f"/collections/{events_layer}/items", params=params)
        assert response.status_code == 400, params
        assert named in response.json()["description"]


def test_a_new_layer_appears_in_the_document_without_restart(
    client: TestClient, events_layer: str, sample_url: str
) -> None:
    before = client.get("/api")
    assert f"/collections/{LATE}/items" not in before.json()["paths"]
    assert client.get("/api", headers={"If-None-Match": before.headers["etag"]}).status_code == 304
    with psycopg.connect(sample_url) as conn:
        register_events(conn, fixture_meta(LATE, "后来的图层", "Late layer"), FIELDS[:2])
    try:
        wait_for_layer(client, LATE)
        after = client.get("/api")
        assert after.headers["etag"] != before.headers["etag"]
        assert {"name", "adcode"} <= set(items_parameters(after.json(), LATE))
        validate(after.json())
    finally:
        with psycopg.connect(sample_url) as conn:
            conn.execute("DELETE FROM onemap.layers WHERE id = %s", [LATE])
    wait_for(
        lambda: f"/collections/{LATE}/items" not in client.get("/api").json()["paths"],
        "a removed layer stayed in the document",
    )
