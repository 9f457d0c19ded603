"""Part 2: every listed CRS, output and bbox-crs (and filter-crs) in its own axis order.

Expected coordinates come from pyproj with the CRS's authority axis order
(always_xy=False), independently of the server's SQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyproj import CRS, Transformer

from layers.crs import SUPPORTED

EVENTS = "/collections/feat-events/items"
CODES = [c.uri for c in SUPPORTED]
EPSG_EXPECTED = {4326, 4490, 3857, 4524, 4525, 4526, 4527, 4545, 4546, 4547, 4548}


def short(uri: str) -> str:
    return "OGC:CRS84" if uri.endswith("CRS84") else "EPSG:" + uri.rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def tianhe_point(client: TestClient, events_layer: str) -> tuple[int, float, float]:
    feature = client.get(EVENTS, params={"q": "天河事件1"}).json()["features"][0]
    lon, lat = feature["geometry"]["coordinates"]
    return feature["id"], lon, lat


def in_crs(uri: str, lon: float, lat: float) -> tuple[float, float]:
    """The point in ``uri``'s own axis order (pyproj, authority order)."""
    transformer = Transformer.from_crs(CRS("EPSG:4490"), CRS(short(uri)), always_xy=False)
    a, b = transformer.transform(lat, lon)  # EPSG:4490 input is lat, lon
    return a, b


def test_every_required_crs_is_listed(client: TestClient) -> None:
    listed = client.get("/collections/gd-counties").json()["crs"]
    assert "http://www.opengis.net/def/crs/OGC/1.3/CRS84" in listed
    codes = {int(u.rsplit("/", 1)[1]) for u in listed if "/EPSG/" in u}
    assert codes >= EPSG_EXPECTED


def test_axis_order_definitions_match_pyproj() -> None:
    for crs in SUPPORTED:
        first = CRS(short(crs.uri)).axis_info[0].direction
        assert crs.swap_axes == (first == "north"), crs.uri


@pytest.mark.parametrize("uri", CODES)
def test_output_coordinates_follow_the_axis_order(
    client: TestClient, tianhe_point: tuple[int, float, float], uri: str
) -> None:
    fid, lon, lat = tianhe_point
    response = client.get(f"{EVENTS}/{fid}", params={"crs": uri})
    assert response.status_code == 200
    assert response.headers["content-crs"] == f"<{uri}>"
    a, b = response.json()["geometry"]["coordinates"]
    want_a, want_b = in_crs(uri, lon, lat)
    tolerance = 1e-6 if abs(want_a) < 400 else 0.02
    assert a == pytest.approx(want_a, abs=tolerance) and b == pytest.approx(want_b, abs=tolerance)
    page = client.get(EVENTS, params={"crs": uri, "within": "440106", "limit": 1})
    assert page.headers["content-crs"] == f"<{uri}>"
    assert page.json()["features"][0]["geometry"]["coordinates"] == [a, b]


def _box(a: float, b: float, size: float) -> str:
    return f"{a - size},{b - size},{a + size},{b + size}"


@pytest.mark.parametrize("uri", CODES)
def test_bbox_crs_is_read_in_its_axis_order(
    client: TestClient, tianhe_point: tuple[int, float, float], uri: str
) -> None:
    fid, lon, lat = tianhe_point
    a, b = in_crs(uri, lon, lat)
    size = 1e-4 if abs(a) < 400 else 10.0
    found = client.get(EVENTS, params={"bbox": _box(a, b, size), "bbox-crs": uri, "limit": 100})
    assert found.status_code == 200, found.text
    assert fid in [f["id"] for f in found.json()["features"]]
    swapped = client.get(EVENTS, params={"bbox": _box(b, a, size), "bbox-crs": uri, "limit": 100})
    # Read the other way round the box is elsewhere, or not even valid in that CRS.
    assert swapped.status_code in (200, 400)
    if swapped.status_code == 200:
        assert fid not in [f["id"] for f in swapped.json()["features"]]


@pytest.mark.parametrize("uri", CODES)
def test_filter_crs_is_read_in_its_axis_order(
    client: TestClient, tianhe_point: tuple[int, float, float], uri: str
) -> None:
    fid, lon, lat = tianhe_point
    a, b = in_crs(uri, lon, lat)
    size = 1e-4 if abs(a) < 400 else 10.0

    def ids(x: float, y: float) -> list[Any]:
        polygon = (
            f"POLYGON(({x - size} {y - size},{x + size} {y - size},{x + size} {y + size},"
            f"{x - size} {y + size},{x - size} {y - size}))"
        )
        response = client.get(
            EVENTS,
            params={"filter": f"S_INTERSECTS(geometry,{polygon})", "filter-crs": uri, "limit": 100},
        )
        assert response.status_code in (200, 400), response.text  # 400: outside the CRS domain
        return [f["id"] for f in response.json().get("features", [])]

    assert fid in ids(a, b)
    assert fid not in ids(b, a)


def test_crs84_and_epsg4326_differ_only_in_order(
    client: TestClient, tianhe_point: tuple[int, float, float]
) -> None:
    fid, lon, lat = tianhe_point
    crs84 = client.get(f"{EVENTS}/{fid}").json()["geometry"]["coordinates"]
    epsg4326 = client.get(f"{EVENTS}/{fid}", params={"crs": "EPSG:4326"}).json()
    assert crs84 == [lon, lat] and epsg4326["geometry"]["coordinates"] == [lat, lon]


def test_precision_per_crs(client: TestClient, tianhe_point: tuple[int, float, float]) -> None:
    fid = tianhe_point[0]
    metres = client.get(f"{EVENTS}/{fid}", params={"crs": "EPSG:3857"}).json()
    assert all(round(v, 2) == v for v in metres["geometry"]["coordinates"])
    degrees = client.get(f"{EVENTS}/{fid}").json()["geometry"]["coordinates"]
    assert all(round(v, 7) == v for v in degrees)


def test_unsupported_crs_is_400(client: TestClient, events_layer: str) -> None:
    for params in ({"crs": "EPSG:32650"}, {"bbox-crs": "EPSG:2000", "bbox": "1,2,3,4"}):
        assert client.get(EVENTS, params=params).status_code == 400
    bad_filter_crs = {"filter": "name = 'x'", "filter-crs": "EPSG:32650"}
    assert client.get(EVENTS, params=bad_filter_crs).status_code == 400
