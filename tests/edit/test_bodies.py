"""Bodies checked against the layer's schema, geometries stored by ingest's rules, CRSs,
and the Prefer preferences (/conf/handling, return representation, /conf/features/crs)."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from tests.edit.conftest import BUILDINGS, SQUARE, feature, write_headers
from tests.edit.test_create_replace_delete import ITEMS, create

EPSG_4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"


def refused(client: TestClient, body: object, **headers: str) -> tuple[int, str]:
    answer = client.post(ITEMS, json=body, headers=write_headers(**headers))
    return answer.status_code, str(answer.json().get("detail", ""))


def test_unknown_fields_and_wrong_types_are_422_naming_the_field(editing: TestClient) -> None:
    status, detail = refused(editing, feature(owner="Jane"))
    assert status == 422 and "'owner'" in detail and "name, function, height, built" in detail
    status, detail = refused(editing, feature(height="tall"))
    assert status == 422 and "'height' must be a number" in detail
    status, detail = refused(editing, feature(built="yesterday"))
    assert status == 422 and "'built'" in detail


def test_geometry_of_another_type_or_outside_the_service_area_is_422(editing: TestClient) -> None:
    point = feature() | {"geometry": {"type": "Point", "coordinates": [113.3, 23.1]}}
    status, detail = refused(editing, point)
    assert status == 422 and "MultiPolygon" in detail
    heidelberg = [[8.708, 49.412], [8.7084, 49.412], [8.7084, 49.4123], [8.708, 49.412]]
    status, detail = refused(editing, feature(ring=heidelberg))
    assert status == 422 and "outside the service area" in detail
    status, detail = refused(editing, feature() | {"geometry": None})
    assert status == 422 and "'geometry' is required" in detail
    status, _ = refused(editing, {"type": "FeatureCollection", "features": []})
    assert status == 400


def test_an_invalid_polygon_is_repaired_and_the_repair_recorded(
    editing: TestClient, sample_url: str
) -> None:
    bowtie = [
        [113.33, 23.13],
        [113.331, 23.131],
        [113.331, 23.13],
        [113.33, 23.131],
        [113.33, 23.13],
    ]
    url = create(editing, feature("bowtie", ring=bowtie))
    got = editing.get(url).json()
    assert got["geometry"]["type"] == "MultiPolygon"
    assert len(got["geometry"]["coordinates"]) == 2  # the two triangles of the figure eight
    fid = int(url.rsplit("/", 1)[1])
    with psycopg.connect(sample_url) as conn:
        row = conn.execute(
            "SELECT repairs FROM onemap.feature_edits WHERE layer_id = %s AND fid = %s",
            (BUILDINGS, fid),
        ).fetchone()
    assert row is not None and row[0]["made_valid"] == 1


def test_content_crs_is_honoured_and_an_unsupported_one_refused(editing: TestClient) -> None:
    latitude_first = [[y, x] for x, y in SQUARE]
    body = feature("lat-lon") | {"geometry": {"type": "Polygon", "coordinates": [latitude_first]}}
    url = create_with(editing, body, f"<{EPSG_4490}>")
    assert editing.get(url).json()["geometry"]["coordinates"] == [[SQUARE]]
    status, detail = refused(
        editing, feature(), **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/27700>"}
    )
    assert status == 400 and "Content-Crs" in detail


def create_with(client: TestClient, body: dict[str, object], crs: str) -> str:
    answer = client.post(ITEMS, json=body, headers=write_headers(**{"Content-Crs": crs}))
    assert answer.status_code == 201, answer.text
    return str(answer.headers["Location"])


def test_strict_handling_is_declared_on_a_refusal(editing: TestClient) -> None:
    answer = editing.post(
        ITEMS, json=feature(owner="x"), headers=write_headers(Prefer="handling=strict")
    )
    assert answer.status_code == 422
    assert answer.headers["Preference-Applied"] == "handling=strict"
    lenient = editing.post(ITEMS, json=feature(), headers=write_headers(Prefer="handling=lenient"))
    assert lenient.status_code == 201


def test_return_representation_sends_the_feature(editing: TestClient) -> None:
    answer = editing.post(
        ITEMS, json=feature("shown"), headers=write_headers(Prefer="return=representation")
    )
    assert answer.status_code == 201
    assert answer.headers["Preference-Applied"] == "return=representation"
    assert answer.json()["properties"]["name"] == "shown"
    assert answer.headers["ETag"] == editing.get(answer.headers["Location"]).headers["ETag"]
    minimal = editing.post(ITEMS, json=feature(), headers=write_headers(Prefer="return=minimal"))
    assert minimal.status_code == 201 and minimal.content == b""
