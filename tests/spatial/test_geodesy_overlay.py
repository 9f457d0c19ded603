"""Areas in the equal-area CRS against pyproj.Geod's ellipsoidal areas."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from layers.errors import InvalidParameter
from spatial.geodesy import area_km2, geodesic_area_km2
from spatial.overlay import DENSIFY_DEG, overlay_areas, subdivide


def ellipsoidal_km2(geom: shapely.Geometry) -> float:
    return geodesic_area_km2(shapely.segmentize(geom, DENSIFY_DEG))


@pytest.mark.parametrize(
    "box", [(113.0, 23.0, 113.5, 23.5), (110.0, 20.3, 117.0, 25.4), (113.30, 23.10, 113.31, 23.11)]
)
def test_equal_area_matches_the_ellipsoid_within_0_1_percent(box: tuple[float, ...]) -> None:
    geom = shapely.box(*box)
    ours = area_km2(np.array([shapely.segmentize(geom, DENSIFY_DEG)]))[0]
    assert ours == pytest.approx(ellipsoidal_km2(geom), rel=1e-3)


def frame(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4490)


def test_overlay_areas_per_class_and_unit() -> None:
    west, east = shapely.box(113.0, 23.0, 113.1, 23.1), shapely.box(113.1, 23.0, 113.2, 23.1)
    units = frame([{"adcode": "440101", "geometry": west}, {"adcode": "440102", "geometry": east}])
    farm = shapely.box(113.05, 23.0, 113.15, 23.05)  # straddles the two units
    forest = shapely.box(113.01, 23.06, 113.04, 23.09)  # wholly inside the west unit
    parcels = frame([{"lu": "farm", "geometry": farm}, {"lu": "forest", "geometry": forest}])
    table = overlay_areas(parcels, "lu", units, "adcode").set_index(["adcode", "lu"])
    expected = {
        ("440101", "farm"): ellipsoidal_km2(farm & west),
        ("440102", "farm"): ellipsoidal_km2(farm & east),
        ("440101", "forest"): ellipsoidal_km2(forest),
    }
    for key, km2 in expected.items():
        assert table.loc[key, "area_km2"] == pytest.approx(km2, rel=1e-3)
    assert table.loc[("440101", "forest"), "share"] == pytest.approx(
        ellipsoidal_km2(forest) / ellipsoidal_km2(west), rel=1e-3
    )
    assert ("440102", "forest") not in table.index


def test_subdivide_keeps_the_area_and_bounds_vertices() -> None:
    ring = shapely.Point(113, 23).buffer(1.0, quad_segs=400)  # 1,600 vertices
    pieces = subdivide(ring, 64)
    assert len(pieces) > 10
    assert max(shapely.get_num_coordinates(p) for p in pieces) <= 64
    assert sum(p.area for p in pieces) == pytest.approx(ring.area, rel=1e-9)


def test_overlay_rejects_points_and_missing_fields() -> None:
    units = frame([{"adcode": "440101", "geometry": shapely.box(0, 0, 1, 1)}])
    points = frame([{"lu": "x", "geometry": shapely.Point(0.5, 0.5)}])
    with pytest.raises(InvalidParameter, match="Point"):
        overlay_areas(points, "lu", units, "adcode")
    with pytest.raises(InvalidParameter, match="no field 'landuse'"):
        overlay_areas(units, "landuse", units, "adcode")
