"""Nearest features, buffers and affected areas against pyproj.Geod."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from layers.errors import InvalidParameter
from spatial.geodesy import area_km2
from spatial.impact import affected_units, counts_per_unit, features_inside, incident_zone
from spatial.proximity import buffer_zones, nearest_features

GEOD = Geod(ellps="GRS80")
ORIGIN = (113.3245, 23.1064)


def points_at(bearings_distances: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    lons, lats = [], []
    for bearing, distance in bearings_distances:
        lon, lat, _ = GEOD.fwd(*ORIGIN, bearing, distance)
        lons.append(lon)
        lats.append(lat)
    return gpd.GeoDataFrame(
        {"fid": range(1, len(lons) + 1)}, geometry=gpd.points_from_xy(lons, lats), crs=4490
    )


def test_nearest_features_rank_by_ellipsoidal_distance() -> None:
    # East-west degrees are shorter here: 0.009° east is ~920 m, 0.009° north ~1 km.
    frame = points_at([(90, 5000), (0, 1200), (180, 800), (270, 30000), (45, 1000)])
    nearest = nearest_features(frame, *ORIGIN, k=3)
    assert list(nearest["fid"]) == [3, 5, 2]
    for _, row in nearest.iterrows():
        _, _, expected = GEOD.inv(*ORIGIN, row.geometry.x, row.geometry.y)
        assert row["distance_m"] == pytest.approx(expected, abs=0.01)


def test_buffer_zone_radius_is_geodesic_and_violations_found() -> None:
    site = gpd.GeoDataFrame({"fid": [7]}, geometry=[shapely.Point(ORIGIN)], crs=4490)
    others = points_at([(10, 900), (200, 1100), (300, 999)])
    zones, violations = buffer_zones(site, 1000.0, others)
    for lon, lat in zones.geometry[0].exterior.coords:
        assert GEOD.inv(*ORIGIN, lon, lat)[2] == pytest.approx(1000.0, abs=0.5)
    assert sorted(violations["fid"]) == [1, 3]
    assert set(violations["site_fid"]) == {7}
    assert sorted(violations["distance_m"]) == pytest.approx([900.0, 999.0], abs=0.01)


@pytest.mark.parametrize("radius", [-1.0, 0.0, 10_000_000.0])
def test_bad_radius_says_what_to_change(radius: float) -> None:
    with pytest.raises(InvalidParameter, match="metres"):
        incident_zone(shapely.Point(ORIGIN), radius)


def test_point_incident_needs_a_radius() -> None:
    with pytest.raises(InvalidParameter, match="radius_m"):
        incident_zone(shapely.Point(ORIGIN), None)


def test_affected_area_of_a_circle_split_between_two_units() -> None:
    lon, lat = ORIGIN
    units = gpd.GeoDataFrame(
        {"adcode": ["440101", "440102"]},
        geometry=[
            shapely.box(lon - 1, lat - 1, lon, lat + 1),
            shapely.box(lon, lat - 1, lon + 1, lat + 1),
        ],
        crs=4490,
    )
    zone = incident_zone(shapely.Point(ORIGIN), 2000.0)
    touched = affected_units(zone, units)
    circle_km2 = math.pi * 2.0**2
    assert touched["affected_area_km2"].sum() == pytest.approx(circle_km2, rel=2e-3)
    assert list(touched["affected_area_km2"]) == pytest.approx([circle_km2 / 2] * 2, rel=3e-3)
    assert touched["affected_share"].iloc[0] == pytest.approx(
        touched["affected_area_km2"].iloc[0] / area_km2(units.geometry.values._data[:1])[0]
    )
    schools = points_at([(270, 1000), (90, 1500), (90, 2500)])
    inside = features_inside(zone, {"schools": schools}, units)
    assert sorted(inside["fid"]) == [1, 2]
    assert counts_per_unit(inside) == [
        {"unit_code": "440101", "layer": "schools", "count": 1},
        {"unit_code": "440102", "layer": "schools", "count": 1},
    ]


def test_polygon_incident_is_used_as_given() -> None:
    flood = shapely.box(113.0, 23.0, 113.1, 23.1)
    assert incident_zone(flood, None).equals(flood)
    assert np.isclose(incident_zone(flood, 100.0).area, flood.buffer(0.001).area, rtol=0.2)
