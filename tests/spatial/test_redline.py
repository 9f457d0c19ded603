"""The 三区三线 red-line check through /processes, against an independent computation: the
geopandas.overlay intersection of the same parcels and zones, measured with pyproj.Geod."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import lxml.html
import pytest
import shapely
import shapely.ops
from fastapi.testclient import TestClient
from pyproj import Geod

from ingest.sample import sample_file
from tests.conftest import PUBLISHER
from tests.gate_fixtures import INTERNAL, publish_gate_layers
from tests.helpers.wait import wait_for

EXECUTE = "/processes/redline-check/execution"
GEOD = Geod(ellps="GRS80")
TOLERANCE = 1e-3  # 0.1 %
COUNTY = "440112"  # 黄埔区: all three classes
FARMLAND, RED_LINE, URBAN = "永久基本农田", "生态保护红线", "城镇开发边界"


def geodesic_m2(geom: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))[0])


@pytest.fixture(scope="module")
def zones() -> gpd.GeoDataFrame:
    path = sample_file("synthetic/guangdong_protected_zones.gpkg")
    return gpd.read_file(path).set_crs(4490, allow_override=True)


def _box_inside(zone: shapely.Geometry, half_deg: float = 0.002) -> shapely.Polygon:
    """A small square wholly inside ``zone`` (around its most inland point)."""
    centre = shapely.ops.polylabel(max(shapely.get_parts(zone), key=lambda g: g.area), 1e-5)
    box = shapely.box(
        centre.x - half_deg, centre.y - half_deg, centre.x + half_deg, centre.y + half_deg
    )
    assert zone.contains(box)
    return box


@pytest.fixture(scope="module")
def parcels(zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Four parcels: wholly in farmland, wholly in the development boundary, and two that
    straddle classes and a county boundary (a box over the county's whole extent)."""
    of = {row.zone_class: row.geometry for row in zones[zones.adcode == COUNTY].itertuples()}
    minx, miny, maxx, maxy = shapely.union_all(list(of.values())).bounds
    geoms = [
        _box_inside(of[FARMLAND]),
        _box_inside(of[URBAN]),
        shapely.box(minx, miny, maxx, maxy),
        shapely.box((minx + maxx) / 2, miny - 0.05, maxx + 0.05, (miny + maxy) / 2),
    ]
    names = ["in-farmland", "in-urban", "extent", "corner"]
    return gpd.GeoDataFrame({"name": names}, geometry=geoms, crs=4490)


@pytest.fixture(scope="module")
def outcome(client: TestClient, parcels: gpd.GeoDataFrame) -> dict[str, Any]:
    features = parcels.__geo_interface__
    body = {"inputs": {"parcels": {"features": features}, "parcel_id_field": "name"}}
    answer = client.post(EXECUTE, json=body)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    page = client.get(document["report_html"]["href"])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    return {"document": document, "page": page}


def test_overlaps_match_geopandas_overlay_within_0_1_percent(
    outcome: dict[str, Any], parcels: gpd.GeoDataFrame, zones: gpd.GeoDataFrame
) -> None:
    reference = gpd.overlay(
        parcels, zones[["zone_class", "adcode", "geometry"]], keep_geom_type=True
    )
    reference["m2"] = [geodesic_m2(g) for g in reference.geometry]
    report = outcome["document"]["report"]
    expected = reference.groupby(["name", "zone_class"])["m2"].sum()
    for parcel in report["parcels"]:
        for zone_class, area in parcel["overlaps_m2"].items():
            want = float(expected.get((parcel["parcel"], zone_class), 0.0))
            assert area == pytest.approx(want, rel=TOLERANCE, abs=1.0), (
                parcel["parcel"],
                zone_class,
            )
    by_class = reference.groupby("zone_class")["m2"].sum()
    for row in report["classes"]:
        assert row["area_m2"] == pytest.approx(by_class[row["class"]], rel=TOLERANCE)
    # By county: the reference overlaps cut again by the real county outlines.
    counties = gpd.read_file(sample_file("guangdong_admin_cnmaps.gpkg"), layer="gd_county")
    counties = counties.set_crs(4490, allow_override=True)[["adcode", "geometry"]]
    cut = gpd.overlay(reference[["zone_class", "geometry"]], counties, keep_geom_type=True)
    cut["m2"] = [geodesic_m2(g) for g in cut.geometry]
    by_county = cut.groupby(["adcode", "zone_class"])["m2"].sum()
    got = {(r["adcode"], r["class"]): r["area_m2"] for r in report["counties"]}
    for key, want in by_county.items():
        assert got.get(key, 0.0) == pytest.approx(want, rel=TOLERANCE, abs=100.0), key
    assert len({adcode for adcode, _ in got}) >= 2  # the corner parcel crosses into another county


def test_verdicts_follow_the_stated_rule(outcome: dict[str, Any]) -> None:
    report = outcome["document"]["report"]
    verdicts = {p["parcel"]: p["verdict"] for p in report["parcels"]}
    assert verdicts["in-farmland"] == "不符合"
    assert verdicts["in-urban"] == "符合"
    assert verdicts["extent"] == "不符合"  # it covers red line and farmland too
    assert report["verdict"] == "不符合"
    assert report["classes_absent"] == []
    assert "永久基本农田" in report["rule"] and "椭球面积" in report["rule"]
    inside = next(p for p in report["parcels"] if p["parcel"] == "in-farmland")
    assert inside["overlaps_m2"][FARMLAND] == pytest.approx(inside["area_m2"], rel=1e-6)
    overlaps = outcome["document"]["overlaps"]["features"]
    assert {f["properties"]["zone_class"] for f in overlaps} == {FARMLAND, RED_LINE, URBAN}


def test_the_html_report_parses_and_holds_the_figures(outcome: dict[str, Any]) -> None:
    page = outcome["page"]
    assert "style-src" in page.headers["content-security-policy"]  # its print stylesheet
    tree = lxml.html.fromstring(page.content)
    report = outcome["document"]["report"]
    assert tree.get_element_by_id("verdict").text_content() == report["verdict"]
    rows = tree.get_element_by_id("by-parcel").xpath("./tbody/tr")
    assert len(rows) == len(report["parcels"])
    for row, parcel in zip(rows, report["parcels"], strict=True):
        cells = [c.text_content() for c in row.xpath("./td")]
        assert cells[0] == parcel["parcel"] and cells[-2] == parcel["verdict"]
        assert cells[1] == f"{parcel['area_m2']:,.2f}"
    class_cells = [
        r.xpath("./td")[1].text_content() for r in tree.xpath('//*[@id="by-class"]/tbody/tr')
    ]
    assert class_cells == [f"{c['area_m2']:,.2f}" for c in report["classes"]]
    county_rows = [
        [td.text_content() for td in r.xpath("./td")]
        for r in tree.xpath('//*[@id="by-county"]/tbody/tr')
    ]
    assert [(r[0], r[2], r[3]) for r in county_rows] == [
        (c["adcode"] or "—", c["class"], f"{c['area_m2']:,.2f}") for c in report["counties"]
    ]
    assert "@media print" in page.text


def test_a_footprint_alone_answers_its_report_page_raw_naming_absent_classes(
    client: TestClient, parcels: gpd.GeoDataFrame
) -> None:
    inside_urban = parcels.geometry.iloc[1].__geo_interface__
    typo = ["生态红线", FARMLAND]  # not a class of the layer: the page says so
    inputs = {"footprint": inside_urban, "prohibited_classes": typo}
    body = {"inputs": inputs, "outputs": {"report_html": {}}}
    page = client.post(EXECUTE, json=body)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "style-src" in page.headers["content-security-policy"]
    tree = lxml.html.fromstring(page.content)
    assert tree.get_element_by_id("verdict").text_content() == "符合"
    first_cell = tree.xpath('//*[@id="by-parcel"]/tbody/tr/td')[0]
    assert first_cell.text_content() == "footprint"
    assert "生态红线" in tree.get_element_by_id("absent").text_content()


def test_a_footprint_outside_the_service_area_or_no_subject_is_a_400(client: TestClient) -> None:
    far = {"type": "Polygon", "coordinates": [[[1133, 23], [1134, 23], [1134, 24], [1133, 23]]]}
    answer = client.post(EXECUTE, json={"inputs": {"footprint": far}})
    assert answer.status_code == 400 and "footprint" in answer.json()["detail"]
    neither = client.post(EXECUTE, json={"inputs": {}})
    assert neither.status_code == 400 and "footprint" in neither.json()["detail"]


def test_an_invisible_parcel_layer_is_the_gates_no_such_layer(
    client: TestClient, sample_url: str
) -> None:
    if client.get(f"/collections/{INTERNAL}", headers=PUBLISHER).status_code != 200:
        publish_gate_layers(sample_url)
        wait_for(
            lambda: client.get(f"/collections/{INTERNAL}", headers=PUBLISHER).status_code == 200,
            "the gate's layers never appeared",
        )
    hidden = client.post(EXECUTE, json={"inputs": {"parcels": {"collection": INTERNAL}}})
    unknown = client.post(EXECUTE, json={"inputs": {"parcels": {"collection": "gate-nosuch"}}})
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.json()["detail"] == unknown.json()["detail"].replace("gate-nosuch", INTERNAL)
    mine = client.post(
        EXECUTE, json={"inputs": {"parcels": {"collection": INTERNAL}}}, headers=PUBLISHER
    )
    assert mine.status_code == 400 and "polygon" in mine.json()["detail"].lower()  # seen: points
