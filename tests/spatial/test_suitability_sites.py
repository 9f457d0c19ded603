"""Suitability on the sample DEM: exact exclusions, candidates on land and of bounded size."""

from __future__ import annotations

import shapely
from pyproj import Geod

from spatial import DEFAULT_REGISTRY, Context
from spatial.inputs import LayerInput, read_layer
from tests.helpers.catalog import SAMPLE_DEM

GEOD = Geod(ellps="GRS80")
# Two overlapping zones; the second reaches from Zhuhai's coast out to sea.
ZONES = [
    shapely.box(113.20, 23.00, 113.60, 23.40),
    shapely.box(113.45, 23.25, 113.80, 23.55),
    shapely.box(113.40, 21.80, 113.70, 22.25),
]
BOUNDS_KM2 = (5.0, 60.0)


def geodesic_km2(geom: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))[0]) / 1e6


def test_exclusions_are_exact_and_candidates_lie_on_land_within_bounds(ctx: Context) -> None:
    zones = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(z)}
            for z in ZONES
        ],
    }
    result = DEFAULT_REGISTRY.get("suitability").execute(
        {
            "dem": {"path": str(SAMPLE_DEM)},
            "roads": {"collection": "synthetic-roads"},
            "exclusions": {"features": zones},
            "min_area_km2": BOUNDS_KM2[0],
            "max_area_km2": BOUNDS_KM2[1],
            "top_n": 8,
        },
        ctx,
    )
    land = shapely.union_all(read_layer(ctx, LayerInput(collection="gd-province")).geometry)
    expected = geodesic_km2(shapely.intersection(shapely.union_all(ZONES), land))
    assert abs(result.values["excluded_km2"] - expected) <= 0.02 * expected
    candidates = result.features["candidates"]
    assert len(candidates) == 8
    for geom, km2 in zip(candidates.geometry, candidates["area_km2"], strict=True):
        area = geodesic_km2(geom)
        assert abs(area - km2) <= 0.01 * km2  # the reported area is the polygon's
        assert BOUNDS_KM2[0] * 0.99 <= area <= BOUNDS_KM2[1] * 1.01
        assert geodesic_km2(shapely.difference(geom, land)) <= 0.05 * area
        assert not any(shapely.intersection(geom, z).area > 1e-9 for z in ZONES)
