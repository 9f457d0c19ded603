"""GCJ-02 <-> WGS 84: forward offset size, inverse round trip, no offset outside China."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyproj import Geod

from ingest.gcj02 import gcj02_to_cgcs2000, gcj02_to_wgs84, out_of_china, wgs84_to_gcj02

GUANGZHOU = (113.2644, 23.1291)  # near Guangzhou city hall
GEOD = Geod(ellps="WGS84")


def test_forward_offset_in_guangzhou_is_hundreds_of_metres_east_and_south() -> None:
    lon, lat = wgs84_to_gcj02(*GUANGZHOU)
    east = GEOD.inv(GUANGZHOU[0], GUANGZHOU[1], float(lon), GUANGZHOU[1])[2]
    south = GEOD.inv(GUANGZHOU[0], GUANGZHOU[1], GUANGZHOU[0], float(lat))[2]
    assert lon > GUANGZHOU[0] and lat < GUANGZHOU[1]  # the known direction in Guangdong
    assert 500 < east < 600 and 250 < south < 350  # about 620 m in all


def test_inverse_round_trip_is_below_a_centimetre() -> None:
    rng = np.random.default_rng(44)
    lon, lat = rng.uniform(109.6, 117.4, 1000), rng.uniform(20.2, 25.6, 1000)
    wgs_lon, wgs_lat = gcj02_to_wgs84(lon, lat)
    back_lon, back_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    assert GEOD.inv(back_lon, back_lat, lon, lat)[2].max() < 0.01
    assert GEOD.inv(wgs_lon, wgs_lat, lon, lat)[2].min() > 250  # it did move the points


def test_outside_china_nothing_moves() -> None:
    lon, lat = np.array([2.35, -74.0, 139.7]), np.array([48.85, 40.7, 35.7])  # Paris, NYC, Tokyo
    assert out_of_china(lon, lat).all()
    for convert in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = convert(lon, lat)
        assert np.array_equal(out_lon, lon) and np.array_equal(out_lat, lat)


def test_gcj02_geometries_to_cgcs2000() -> None:
    gcj_lon, gcj_lat = wgs84_to_gcj02(*GUANGZHOU)
    geoms = np.array(
        [
            shapely.Point(float(gcj_lon), float(gcj_lat), 12.0),
            shapely.LineString([(113.0, 23.0), (114.0, 22.5)]),
            None,
        ],
        dtype=object,
    )
    result = gcj02_to_cgcs2000(geoms)
    point = result.geometries[0]
    assert GEOD.inv(point.x, point.y, *GUANGZHOU)[2] < 0.01 and point.z == 12.0
    assert result.geometries[1].geom_type == "LineString" and result.geometries[2] is None
    assert result.round_trip_error_m < 0.01


def test_real_amap_county_layer_round_trips() -> None:
    counties = pyogrio.read_dataframe(
        Path(__file__).resolve().parents[2] / "ingest" / "sample" / "guangdong_admin_cnmaps.gpkg",
        layer="gd_county",
        columns=[],
        max_features=20,
    )
    result = gcj02_to_cgcs2000(counties.geometry.to_numpy())
    assert result.round_trip_error_m < 0.01
    assert shapely.is_valid(result.geometries).all()
