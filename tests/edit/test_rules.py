"""A layer's editing rules (ADR 0013, decisions 11-13): its service area, an id field that
names features by the source's identifiers (PUT to a new id creates it), required fields
(``handling=strict`` and the default refuse a feature without them), and the receivables
schema that publishes all of it (Part 4 /conf/features/schema, put-create, handling)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from layers.catalog import FieldInfo
from tests.access.ownership_fixtures import DEPT_A, as_
from tests.edit.conftest import feature, write_headers
from tests.helpers.catalog import fixture_meta, register_department, register_table
from tests.helpers.wait import wait_for

PARCELS = "edit-parcels"
ITEMS = f"/collections/{PARCELS}/items"
# Parcels in Sanya, Hainan (outside Guangdong), named by their cadastral codes.
CREATE = """
CREATE TABLE onemap_data.edit_parcels_v1 (
    fid bigint PRIMARY KEY DEFAULT nextval('onemap.feature_id_seq'),
    code text, name text, function text, height double precision,
    geom geometry(Polygon, 4490));
INSERT INTO onemap_data.edit_parcels_v1 (code, name, function, height, geom)
SELECT 'HN.' || n, 'parcel ' || n, 'public', n,
       ST_MakeEnvelope(109.50 + n * 0.001, 18.25, 109.5004 + n * 0.001, 18.2503, 4490)
FROM generate_series(1, 3) AS n
"""
FIELDS = [
    FieldInfo("code", "string", "code"),
    FieldInfo("name", "string", "name"),
    FieldInfo("function", "string", "function"),
    FieldInfo("height", "number", "height"),
]
HAINAN = [108.6, 18.1, 111.1, 20.2]
RULES = {"editable": True, "serviceArea": HAINAN, "idField": "code", "required": ["function"]}
RING = [[109.51, 18.26], [109.5104, 18.26], [109.5104, 18.2603], [109.51, 18.2603], [109.51, 18.26]]


def parcel(name: str = "new parcel", **properties: Any) -> dict[str, Any]:
    return feature(name, RING) | {"properties": {"name": name, "function": "public"} | properties}


@pytest.fixture(scope="module")
def parcels(editing: TestClient, sample_url: str) -> Iterator[TestClient]:
    with psycopg.connect(sample_url) as conn:
        exists = conn.execute("SELECT to_regclass('onemap_data.edit_parcels_v1')").fetchone()
        if exists is None or exists[0] is None:
            for statement in CREATE.split(";\n"):
                conn.execute(statement.encode())
            register_department(conn, DEPT_A)
            meta = fixture_meta(PARCELS, "宗地", "Parcels", department_id=DEPT_A)
            register_table(conn, meta, "edit_parcels_v1", FIELDS, "Polygon")
    wait_for(lambda: editing.get(f"/collections/{PARCELS}").status_code == 200, "no parcels")
    opened = editing.put(f"/collections/{PARCELS}/editing", json=RULES, headers=as_("alice"))
    assert opened.status_code == 200, opened.text
    assert opened.json()["idField"] == "code"
    yield editing


def test_features_are_named_by_the_id_field(parcels: TestClient) -> None:
    listed = parcels.get(f"{ITEMS}?limit=100").json()["features"]
    assert {f["id"] for f in listed} >= {"HN.1", "HN.2", "HN.3"}
    one = parcels.get(f"{ITEMS}/HN.2")
    assert one.status_code == 200 and one.json()["id"] == "HN.2"
    assert one.json()["properties"]["name"] == "parcel 2"
    assert one.json()["geometry"]["type"] == "Polygon"
    self_link = next(link for link in one.json()["links"] if link["rel"] == "self")
    assert self_link["href"].endswith(f"{ITEMS}/HN.2")
    assert parcels.get(f"{ITEMS}/HN.404").status_code == 404


def test_edits_address_the_id_and_keep_it(parcels: TestClient) -> None:
    etag = parcels.get(f"{ITEMS}/HN.1").headers["ETag"]
    body = parcel("renamed") | {"id": "HN.999"}  # the body's id is ignored
    put = parcels.put(f"{ITEMS}/HN.1", json=body, headers=write_headers(**{"If-Match": etag}))
    assert put.status_code == 204, put.text
    got = parcels.get(f"{ITEMS}/HN.1").json()
    assert got["id"] == "HN.1" and got["properties"]["name"] == "renamed"
    assert got["properties"]["code"] == "HN.1"
    assert parcels.get(f"{ITEMS}/HN.999").status_code == 404
    patch_headers = as_("alice") | {
        "Content-Type": "application/merge-patch+json",
        "If-Match": parcels.get(f"{ITEMS}/HN.1").headers["ETag"],
    }
    refused = parcels.patch(f"{ITEMS}/HN.1", json={"id": "HN.7"}, headers=patch_headers)
    assert refused.status_code == 400 and "cannot be changed" in refused.text


def test_a_post_gets_an_id_and_a_put_to_a_new_id_creates_it(parcels: TestClient) -> None:
    posted = parcels.post(ITEMS, json=parcel("posted"), headers=write_headers())
    assert posted.status_code == 201, posted.text
    new_id = posted.headers["Location"].rsplit("/", 1)[1]
    assert parcels.get(posted.headers["Location"]).json()["id"] == new_id
    guarded = parcels.put(
        f"{ITEMS}/HN.901", json=parcel(), headers=write_headers(**{"If-Match": '"x"'})
    )
    assert guarded.status_code == 412 and "ETag" not in guarded.headers
    assert parcels.get(f"{ITEMS}/HN.901").status_code == 404
    created = parcels.put(f"{ITEMS}/HN.900", json=parcel("put here"), headers=write_headers())
    assert created.status_code == 201, created.text
    assert created.headers["Location"].endswith(f"{ITEMS}/HN.900")
    got = parcels.get(f"{ITEMS}/HN.900")
    assert got.json()["id"] == "HN.900" and got.json()["properties"]["name"] == "put here"
    assert got.headers["ETag"] == created.headers["ETag"]
    again = parcels.put(f"{ITEMS}/HN.900", json=parcel(), headers=write_headers())
    assert again.status_code == 428  # it exists now: a change needs a precondition
    collection = parcels.get(f"/collections/{PARCELS}").json()
    assert collection["supportsNonAutogeneratedResourceIds"] is True
    assert (
        "supportsNonAutogeneratedResourceIds"
        not in parcels.get("/collections/edit-buildings").json()
    )


def test_the_service_area_is_the_layers(parcels: TestClient) -> None:
    inside = parcels.post(ITEMS, json=parcel("in Hainan"), headers=write_headers())
    assert inside.status_code == 201, inside.text
    guangzhou = [[113.31, 23.11], [113.3104, 23.11], [113.3104, 23.1103], [113.31, 23.11]]
    outside = parcels.post(ITEMS, json=feature("in Guangzhou", guangzhou), headers=write_headers())
    assert outside.status_code == 422
    assert "set by the layer's owner" in outside.json()["detail"]
    default = parcels.post(
        "/collections/edit-buildings/items", json=parcel("in Hainan"), headers=write_headers()
    )
    assert default.status_code == 422 and "(Guangdong)" in default.json()["detail"]


def test_required_fields_are_refused_when_missing_whatever_the_handling(
    parcels: TestClient,
) -> None:
    before = len(parcels.get(f"{ITEMS}?limit=1000").json()["features"])
    body = parcel("no function")
    del body["properties"]["function"]
    for prefer in (None, "handling=strict", "handling=lenient"):
        headers = write_headers(**({"Prefer": prefer} if prefer else {}))
        answer = parcels.post(ITEMS, json=body, headers=headers)
        assert answer.status_code == 422, answer.text
        assert "'function' is required" in answer.json()["detail"]
        if prefer == "handling=strict":
            assert answer.headers["Preference-Applied"] == prefer
    assert len(parcels.get(f"{ITEMS}?limit=1000").json()["features"]) == before
    etag = parcels.get(f"{ITEMS}/HN.3").headers["ETag"]
    emptied = parcels.patch(
        f"{ITEMS}/HN.3",
        json={"properties": {"function": None}},
        headers=as_("alice") | {"Content-Type": "application/merge-patch+json", "If-Match": etag},
    )
    assert emptied.status_code == 422


def test_the_schema_publishes_the_receivables(parcels: TestClient) -> None:
    answer = parcels.get(f"/collections/{PARCELS}/schema")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/schema+json"
    schema = answer.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["function"] and schema["additionalProperties"] is False
    properties = schema["properties"]
    assert properties["id"] == {"type": "string", "readOnly": True, "x-ogc-role": "id"}
    assert "code" not in properties  # it is the id
    assert properties["geometry"]["x-ogc-role"] == "primary-geometry"
    assert properties["geometry"]["format"] == "geometry-polygon"
    assert properties["height"]["type"] == "number"
    multi = parcels.get("/collections/edit-buildings/schema").json()["properties"]
    assert multi["geometry"]["format"] == "geometry-polygon-or-multipolygon"
    assert multi["id"]["type"] == "integer"
    rels = {link["rel"] for link in parcels.get(f"/collections/{PARCELS}").json()["links"]}
    assert "http://www.opengis.net/def/rel/ogc/1.0/schema" in rels
    extra = parcels.post(ITEMS, json=parcel(additionalProperty="x"), headers=write_headers())
    assert extra.status_code == 422 and "additionalProperty" in extra.text


def test_rules_are_checked_when_set(parcels: TestClient) -> None:
    url = f"/collections/{PARCELS}/editing"
    bad = (
        ({"editable": True, "serviceArea": [120, 20, 110, 25]}, "serviceArea"),
        ({"editable": True, "serviceArea": "Hainan"}, "serviceArea"),
        ({"editable": True, "idField": "height"}, "idField"),
        ({"editable": True, "idField": {}}, "idField"),  # schemathesis found a 500 here
        ({"editable": True, "required": ["owner"]}, "required"),
    )
    for body, member in bad:
        answer = parcels.put(url, json=body, headers=as_("alice"))
        assert answer.status_code == 400 and member in answer.json()["detail"], answer.text
    repeated = parcels.put(
        "/collections/edit-buildings/editing",
        json={"editable": True, "idField": "function"},  # every building is 'public'
        headers=as_("alice"),
    )
    assert repeated.status_code == 409 and "repeat" in repeated.json()["detail"]
    assert parcels.put(url, json=RULES, headers=as_("bob")).status_code == 403


def test_a_batch_names_features_by_the_id_field(parcels: TestClient) -> None:
    etag = parcels.get(f"{ITEMS}/HN.2").headers["ETag"]
    operations = [
        {"op": "update", "id": "HN.2", "ifMatch": etag, "patch": {"properties": {"height": 7.5}}},
        {"op": "create", "feature": parcel("batched")},
    ]
    answer = parcels.post(
        f"/collections/{PARCELS}/batch",
        json={"operations": operations},
        headers=as_("alice") | {"Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    updated, created = answer.json()["operations"]
    assert updated["id"] == "HN.2" and updated["href"].endswith(f"{ITEMS}/HN.2")
    assert parcels.get(updated["href"]).json()["properties"]["height"] == 7.5
    assert parcels.get(created["href"]).json()["id"] == created["id"]


def test_an_owner_may_let_edits_add_fields(parcels: TestClient, sample_url: str) -> None:
    url = f"/collections/{PARCELS}/editing"
    refused = parcels.post(ITEMS, json=parcel(owner="Jane Doe"), headers=write_headers())
    assert refused.status_code == 422 and "'owner' is not a field" in refused.text
    opened = parcels.put(url, json=RULES | {"additionalProperties": True}, headers=as_("alice"))
    assert opened.status_code == 200, opened.text
    try:
        etag = parcels.get(f"{ITEMS}/HN.3").headers["ETag"]
        patch = {"properties": {"owner": "Jane Doe", "floors": 3, "name": None}}
        headers = as_("alice") | {"Content-Type": "application/merge-patch+json", "If-Match": etag}
        assert parcels.patch(f"{ITEMS}/HN.3", json=patch, headers=headers).status_code == 204
        got = parcels.get(f"{ITEMS}/HN.3").json()["properties"]
        assert (got["owner"], got["floors"], got["name"]) == ("Jane Doe", 3, None)
        schema = parcels.get(f"/collections/{PARCELS}/schema").json()
        assert schema["additionalProperties"] is True
        assert schema["properties"]["floors"]["type"] == "integer"
        assert parcels.get(f"{ITEMS}?owner=Jane%20Doe").json()["numberReturned"] == 1
        nested = parcels.post(ITEMS, json=parcel(tags=["a"]), headers=write_headers())
        assert nested.status_code == 422 and "'tags'" in nested.text
        with psycopg.connect(sample_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM onemap_data.\"edit-parcels\" WHERE owner = 'Jane Doe'"
            ).fetchone()
        assert row == (1,)  # the stable view for SQL clients has the new column too
    finally:
        assert parcels.put(url, json=RULES, headers=as_("alice")).status_code == 200
