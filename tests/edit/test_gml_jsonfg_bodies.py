"""Creates and replaces with GML SF-0 bodies (``application/gml+xml``, the geometry in its
``srsName``) and JSON-FG bodies (``place`` in its ``coordRefSys``), checked by the same
rules as GeoJSON ones; UTM CRSs served for a layer in their zone (ADR 0013, decision 18)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.edit.conftest import BUILDINGS, SQUARE, feature, open_own_layer, write_headers
from tests.edit.test_create_replace_delete import ITEMS, create

GK_114 = "http://www.opengis.net/def/crs/EPSG/0/4547"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
UTM_32_ETRS89 = "http://www.opengis.net/def/crs/EPSG/0/25832"
GML = {"Content-Type": "application/gml+xml"}


def gml_body(name: str, ring: list[list[float]], srs: str, height: str = "6.0") -> bytes:
    positions = " ".join(f"{x!r} {y!r}" for x, y in ring)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<b:Building gml:id="anything" xmlns:b="https://example.org/b"
    xmlns:gml="http://www.opengis.net/gml/3.2">
  <b:name>{name}</b:name><b:function>public</b:function><b:height>{height}</b:height>
  <b:geom><gml:Polygon srsName="{srs}" gml:id="p1"><gml:exterior><gml:LinearRing>
    <gml:posList>{positions}</gml:posList>
  </gml:LinearRing></gml:exterior></gml:Polygon></b:geom>
</b:Building>""".encode()


def close(a: Any, b: Any, tolerance: float) -> bool:
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y, tolerance) for x, y in zip(a, b, strict=True))
    return bool(abs(a - b) <= tolerance)


def test_options_offer_gml_and_json_fg_bodies(editing: TestClient) -> None:
    offered = editing.options(ITEMS).headers["Accept-Post"]
    assert {"application/gml+xml", "application/fg+json"} <= {t.strip() for t in offered.split(",")}


def test_a_gml_create_is_typed_by_the_fields_and_stored_at_its_place(
    editing: TestClient,
) -> None:
    answer = editing.post(
        ITEMS, content=gml_body("gml hall", SQUARE, CRS84), headers=write_headers() | GML
    )
    assert answer.status_code == 201, answer.text
    created = editing.get(answer.headers["Location"]).json()
    assert created["properties"]["name"] == "gml hall" and created["properties"]["height"] == 6.0
    assert close(created["geometry"]["coordinates"][0][0], SQUARE, 1e-7)


def test_a_gml_srs_name_is_honoured(editing: TestClient) -> None:
    reference = create(editing)
    projected = editing.get(reference, params={"crs": GK_114}).json()["geometry"]
    ring = projected["coordinates"][0][0]
    answer = editing.post(
        ITEMS, content=gml_body("gml gk", ring, GK_114), headers=write_headers() | GML
    )
    assert answer.status_code == 201, answer.text
    again = editing.get(answer.headers["Location"], params={"crs": GK_114}).json()["geometry"]
    assert close(again["coordinates"][0][0], ring, 0.01)  # centimetres, both ways


def test_a_gml_replace_ignores_the_gml_id(editing: TestClient) -> None:
    url = create(editing)
    etag = editing.get(url).headers["ETag"]
    headers = write_headers(**{"If-Match": etag}) | GML
    answer = editing.put(url, content=gml_body("gml replaced", SQUARE, CRS84), headers=headers)
    assert answer.status_code in (200, 204), answer.text
    replaced = editing.get(url).json()
    assert replaced["properties"]["name"] == "gml replaced"
    assert str(replaced["id"]) == url.rsplit("/", 1)[1]


def test_bad_gml_bodies_are_4xx_that_say_why(editing: TestClient) -> None:
    headers = write_headers() | GML
    cases = {
        b"<b:Building": 400,  # not XML
        b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<b>&x;</b>": 400,  # no DTDs, no entities
        b'<sf:FeatureCollection xmlns:sf="http://www.opengis.net/ogcapi-features-1/1.0/sf"/>': 400,
        gml_body("typo", SQUARE, CRS84, height="tall"): 422,
        gml_body("nowhere", SQUARE, "http://www.opengis.net/def/crs/EPSG/0/27700"): 400,
    }
    for body, status in cases.items():
        answer = editing.post(ITEMS, content=body, headers=headers)
        assert answer.status_code == status, (body[:60], answer.text)
        assert "passwd" not in answer.text and "root:" not in answer.text
    assert (
        "height"
        in editing.post(ITEMS, content=gml_body("t", SQUARE, CRS84, "tall"), headers=headers).text
    )


def test_a_json_fg_place_in_its_coord_ref_sys_is_the_geometry(editing: TestClient) -> None:
    reference = create(editing)
    projected = editing.get(reference, params={"crs": GK_114}).json()["geometry"]
    body = feature("jsonfg hall") | {"geometry": None, "place": projected | {"coordRefSys": GK_114}}
    answer = editing.post(ITEMS, json=body, headers=write_headers())
    assert answer.status_code == 201, answer.text
    again = editing.get(answer.headers["Location"], params={"f": "jsonfg", "crs": GK_114}).json()
    assert again["place"]["type"] == "MultiPolygon"
    assert close(again["place"]["coordinates"], projected["coordinates"], 0.01)


def test_utm_crs_are_served_only_for_a_layer_in_their_zone(
    editing: TestClient, sample_url: str
) -> None:
    layer = "edit-heidelberg"
    area = {"serviceArea": [8.6, 49.35, 8.8, 49.45]}
    open_own_layer(editing, sample_url, layer, "edit_heidelberg_v1", (8.70, 49.41), area)
    crs = editing.get(f"/collections/{layer}").json()["crs"]
    assert UTM_32_ETRS89 in crs and "http://www.opengis.net/def/crs/EPSG/0/32632" in crs
    assert UTM_32_ETRS89 not in editing.get(f"/collections/{BUILDINGS}").json()["crs"]
    refused = editing.get(f"/collections/{BUILDINGS}/items", params={"crs": UTM_32_ETRS89})
    assert refused.status_code == 400 and "not supported" in refused.json()["detail"]
    page = editing.get(f"/collections/{layer}/items", params={"crs": UTM_32_ETRS89}).json()
    easting, northing = page["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 470_000 < easting < 490_000 and 5_460_000 < northing < 5_480_000
    ring = [[478330.0, 5473290.0], [478359.0, 5473290.0], [478359.0, 5473323.0],
            [478330.0, 5473323.0], [478330.0, 5473290.0]]  # fmt: skip
    body = feature("utm") | {"geometry": {"type": "Polygon", "coordinates": [ring]}}
    headers = write_headers(**{"Content-Crs": f"<{UTM_32_ETRS89}>"})
    answer = editing.post(f"/collections/{layer}/items", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    again = editing.get(answer.headers["Location"], params={"crs": UTM_32_ETRS89}).json()
    assert close(again["geometry"]["coordinates"][0][0], ring, 0.05)
