"""JSON-FG and GML SF-0 answers of items and features (ADR 0013, decision 18): the same
features as the GeoJSON answer, JSON-FG checked member by member (``place`` in the
requested CRS, ``time``, ``conformsTo``, ``coordRefSys``), GML parsed by lxml."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from tests.edit.conftest import BUILDINGS, CLOSED
from tests.edit.test_create_replace_delete import create

GML_NS = "http://www.opengis.net/gml/3.2"
SF_NS = "http://www.opengis.net/ogcapi-features-1/1.0/sf"
JSONFG_CORE = "http://www.opengis.net/spec/json-fg-1/0.2/conf/core"
GK_114 = "http://www.opengis.net/def/crs/EPSG/0/4547"  # CGCS2000 / GK CM 114E: northing first
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def get(client: TestClient, url: str, **params: str) -> Any:
    answer = client.get(url, params=params)
    assert answer.status_code == 200, answer.text
    return answer


def test_the_conformance_declares_gml_sf0_and_json_fg(editing: TestClient) -> None:
    declared = get(editing, "/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/gmlsf0" in declared
    assert JSONFG_CORE in declared


@pytest.mark.parametrize("ask", [{"f": "jsonfg"}, {"profile": "jsonfg"}])
def test_a_json_fg_feature_in_wgs84_keeps_geometry_and_has_no_place(
    editing: TestClient, ask: dict[str, str]
) -> None:
    url = create(editing)
    geojson = get(editing, url).json()
    answer = get(editing, url, **ask)
    assert answer.headers["content-type"].startswith("application/fg+json")
    document = answer.json()
    assert document["type"] == "Feature" and document["conformsTo"] == [JSONFG_CORE]
    assert document["coordRefSys"] == CRS84 and document["featureType"] == BUILDINGS
    assert document["place"] is None and document["time"] is None
    assert document["geometry"] == geojson["geometry"]
    assert document["id"] == geojson["id"] and document["properties"] == geojson["properties"]


def test_a_json_fg_feature_in_a_projected_crs_has_its_geometry_in_place(
    editing: TestClient,
) -> None:
    url = create(editing)
    projected = get(editing, url, crs=GK_114).json()["geometry"]
    document = get(editing, url, f="jsonfg", crs=GK_114).json()
    assert document["coordRefSys"] == GK_114 and document["geometry"] is None
    assert document["place"] == projected
    northing, easting = projected["coordinates"][0][0][0]  # a MultiPolygon layer
    assert 2_500_000 < northing < 2_600_000 and 400_000 < easting < 500_000  # axis order kept


def test_a_json_fg_page_has_the_geojson_pages_features(editing: TestClient) -> None:
    create(editing)
    url = f"/collections/{BUILDINGS}/items"
    geojson = get(editing, url, limit="5").json()
    page = get(editing, url, limit="5", f="jsonfg").json()
    assert page["type"] == "FeatureCollection" and page["conformsTo"] == [JSONFG_CORE]
    assert page["coordRefSys"] == CRS84 and page["numberReturned"] == geojson["numberReturned"]
    assert [f["id"] for f in page["features"]] == [f["id"] for f in geojson["features"]]
    assert all(set(f) >= {"time", "place", "geometry"} for f in page["features"])


def test_an_unknown_profile_is_a_400_naming_the_offered_ones(editing: TestClient) -> None:
    answer = editing.get(f"/collections/{BUILDINGS}/items", params={"profile": "jsonld"})
    assert answer.status_code == 400 and "jsonfg" in answer.json()["detail"]


def positions(element: etree._Element) -> list[list[float]]:
    values = [float(v) for v in (element.text or "").split()]
    return [values[i : i + 2] for i in range(0, len(values), 2)]


def test_a_gml_feature_has_its_properties_and_the_geometry_in_the_crs(
    editing: TestClient,
) -> None:
    url = create(editing)
    feature_id = url.rsplit("/", 1)[1]
    geojson = get(editing, url, crs=GK_114).json()
    answer = get(editing, url, f="gml", crs=GK_114)
    assert answer.headers["content-type"].startswith("application/gml+xml")
    root = etree.fromstring(answer.content)
    assert etree.QName(root).localname == BUILDINGS
    assert root.get(f"{{{GML_NS}}}id") == f"{BUILDINGS}.{feature_id}"
    namespace = etree.QName(root).namespace
    assert root.findtext(f"{{{namespace}}}name") == geojson["properties"]["name"]
    assert float(root.findtext(f"{{{namespace}}}height") or "nan") == 5.5
    surface = root.find(f"{{{namespace}}}geometry/{{{GML_NS}}}MultiSurface")  # MultiPolygon
    assert surface is not None and surface.get("srsName") == GK_114
    polygon = surface.find(f"{{{GML_NS}}}surfaceMember/{{{GML_NS}}}Polygon")
    assert polygon is not None and polygon.get(f"{{{GML_NS}}}id")  # GML 3.2 requires it
    ring = polygon.find(f"{{{GML_NS}}}exterior/{{{GML_NS}}}LinearRing/{{{GML_NS}}}posList")
    assert ring is not None and positions(ring) == geojson["geometry"]["coordinates"][0][0]


def test_a_gml_page_is_an_sf_feature_collection_of_the_page(editing: TestClient) -> None:
    create(editing)
    url = f"/collections/{BUILDINGS}/items"
    geojson = get(editing, url, limit="4").json()
    root = etree.fromstring(get(editing, url, limit="4", f="gml").content)
    assert root.tag == f"{{{SF_NS}}}FeatureCollection"
    assert root.get("numberReturned") == str(geojson["numberReturned"])
    members = root.findall(f"{{{SF_NS}}}featureMember")
    ids = [m[0].get(f"{{{GML_NS}}}id") for m in members]
    assert ids == [f"{BUILDINGS}.{f['id']}" for f in geojson["features"]]


def test_accept_gml_is_answered_by_the_route_not_the_json_fast_path(
    editing: TestClient,
) -> None:
    """``edit-closed`` is not editable: its features are the fast path's, unless asked
    for another format than GeoJSON."""
    url = create(editing).replace(f"/collections/{BUILDINGS}/", f"/collections/{CLOSED}/")
    answer = editing.get(url, headers={"Accept": "application/gml+xml"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "application/gml+xml"
    )
