"""Legal distances include everything within them: features at d − 0.5 m in, d + 0.5 m out."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from spatial import DEFAULT_REGISTRY
from spatial.context import Context
from spatial.geodesy import geodesic_buffer, geodesic_distance_m
from spatial.proximity import buffer_zones

GEOD = Geod(ellps="GRS80")
# South-west tip (Xuwen), Guangzhou, the northern border (Shaoguan), the east (Shantou).
SITES = [(110.18, 20.45), (113.32, 23.11), (113.60, 25.30), (116.68, 23.35)]
BEARINGS = [0.0, 37.0, 90.0, 135.0, 180.0, 222.5, 270.0, 315.0]


def _ring(lon: float, lat: float, distance_m: float) -> list[shapely.Point]:
    points = []
    for bearing in BEARINGS:
        x, y, _ = GEOD.fwd(lon, lat, bearing, distance_m)
        points.append(shapely.Point(x, y))
    return points


def _edge_features(lon: float, lat: float, distance_m: float) -> gpd.GeoDataFrame:
    inside = _ring(lon, lat, distance_m - 0.5)
    outside = _ring(lon, lat, distance_m + 0.5)
    return gpd.GeoDataFrame(
        {"fid": np.arange(1, 2 * len(BEARINGS) + 1), "inside": [True] * 8 + [False] * 8},
        geometry=inside + outside,
        crs=4490,
    )


@pytest.mark.parametrize("distance_m", [3000.0, 10_000.0])
@pytest.mark.parametrize("site", SITES)
def test_buffer_zone_violations_at_the_edge(site: tuple[float, float], distance_m: float) -> None:
    sites = gpd.GeoDataFrame({"fid": [7]}, geometry=[shapely.Point(site)], crs=4490)
    others = _edge_features(*site, distance_m)
    zones, violations = buffer_zones(sites, distance_m, others)
    assert sorted(violations["fid"]) == sorted(others.loc[others["inside"], "fid"])
    assert (violations["site_fid"] == 7).all()
    assert violations["distance_m"].to_numpy() == pytest.approx(distance_m - 0.5, abs=1e-3)
    zone = zones.geometry.iloc[0]
    assert all(zone.contains(p) for p in _ring(*site, distance_m))  # circumscribed


def test_a_line_site_is_measured_from_its_nearest_point() -> None:
    """A site that is a 20 km line: distances from its nearest point, not its centre."""
    a, b = (113.30, 23.10), GEOD.fwd(113.30, 23.10, 60.0, 20_000.0)[:2]
    line = shapely.LineString([a, b])
    x, y, _ = GEOD.fwd(*b, 60.0, 2999.5)  # beyond the end, along the line
    near = shapely.Point(x, y)
    assert geodesic_distance_m(line, near) == pytest.approx(2999.5, abs=0.01)
    sites = gpd.GeoDataFrame({"fid": [1]}, geometry=[line], crs=4490)
    x2, y2, _ = GEOD.fwd(*b, 60.0, 3000.5)
    others = gpd.GeoDataFrame({"fid": [1, 2]}, geometry=[near, shapely.Point(x2, y2)], crs=4490)
    _, violations = buffer_zones(sites, 3000.0, others)
    assert list(violations["fid"]) == [1]
    buffered = geodesic_buffer(np.array([line], dtype=object), 3000.0)[0]
    assert buffered.contains(near)


def _features(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"inside": bool(row.inside)},
                "geometry": shapely.geometry.mapping(row.geometry),
            }
            for row in frame.itertuples()
        ],
    }


@pytest.mark.parametrize("site", SITES)
def test_affected_area_lists_everything_within_the_radius(
    ctx: Context, site: tuple[float, float]
) -> None:
    features = _edge_features(*site, 10_000.0)
    result = DEFAULT_REGISTRY.get("affected-area").execute(
        {
            "incident": {"type": "Point", "coordinates": list(site)},
            "radius_m": 10_000.0,
            "layers": [{"features": _features(features)}],
        },
        ctx,
    )
    inside = result.features["features"]
    assert len(inside) == 8
    assert inside["inside"].all()
