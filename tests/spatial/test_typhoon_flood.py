"""Typhoon wind circles against pyproj.Geod, flood inundation against scipy.ndimage.label."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Geod
from scipy import ndimage

from layers.errors import InvalidParameter
from spatial import DEFAULT_REGISTRY, Context
from spatial.geodesy import area_km2
from tests.spatial.test_rasters import write_tif

GEOD = Geod(ellps="GRS80")
RADII_KM = {"7": [300, 250, 200, 260], "10": [120, 100, 80, 110], "12": [50, 40, 30, 45]}


def run(analysis_id: str, **inputs: Any):  # type: ignore[no-untyped-def]
    return DEFAULT_REGISTRY.get(analysis_id).execute(inputs, Context())


def point(time: str, lon: float, lat: float, radii: dict[str, list[float]]) -> dict[str, Any]:
    return {"time": time, "position": [lon, lat], "radii_km": radii}


def test_wind_circle_vertices_lie_at_the_quadrant_radii_on_the_ellipsoid() -> None:
    result = run("typhoon-wind-circles", track=[point("2026-09-01T08:00+08:00", 114, 21, RADII_KM)])
    circles = result.features["circles"]
    assert sorted(circles["level"]) == [7, 10, 12]
    for level, circle in zip(circles["level"], circles.geometry, strict=True):
        radii_m = np.array(RADII_KM[str(level)]) * 1000
        xy = shapely.get_coordinates(circle.exterior)
        n = len(xy)
        azimuth, _, distance = GEOD.inv(np.full(n, 114.0), np.full(n, 21.0), xy[:, 0], xy[:, 1])
        away = distance > 1.0  # (the centre is no vertex: quarters share their radial edges)
        quadrant = (np.round(azimuth[away], 6) % 360 // 90).astype(int)
        # A vertex on a quadrant boundary belongs to either neighbour's arc.
        before = (quadrant - (np.round(azimuth[away], 6) % 90 == 0)) % 4
        error = np.minimum(
            np.abs(distance[away] - radii_m[quadrant]), np.abs(distance[away] - radii_m[before])
        )
        assert error.max() <= 1.0  # metres, the brief's tolerance
        for q, r in enumerate(radii_m):  # the arcs' chords sag ≤ 1e-5 r inside the circle
            mid = 45.0 + 90 * q
            inside = GEOD.fwd(114.0, 21.0, mid, r - 0.002 * r)[:2]
            outside = GEOD.fwd(114.0, 21.0, mid, r + 50.0)[:2]
            assert circle.contains(shapely.Point(inside)) and not circle.contains(
                shapely.Point(outside)
            )


def test_swept_area_follows_the_track_between_forecast_points() -> None:
    same = {"7": [200, 200, 200, 200]}
    start, end = (115.0, 20.0), (113.0, 22.0)  # heading north-west: 45° and 225° are abeam
    result = run(
        "typhoon-wind-circles",
        track=[
            point("2026-09-01T08:00+08:00", *start, same),
            point("2026-09-02T08:00+08:00", *end, same),
        ],
    )
    area = result.features["areas"].geometry.iloc[0]
    ((mid_lon, mid_lat),) = GEOD.npts(*start, *end, 1)
    for azimuth in (45.0, 225.0):  # the envelope of equal circles is 200 km abeam
        near = GEOD.fwd(mid_lon, mid_lat, azimuth, 199_000)[:2]
        far = GEOD.fwd(mid_lon, mid_lat, azimuth, 201_000)[:2]
        assert area.contains(shapely.Point(near)) and not area.contains(shapely.Point(far))
    for circle in result.features["circles"].geometry:
        assert circle.difference(area).area < 1e-9 * circle.area


@pytest.mark.parametrize(
    ("track", "message"),
    [
        (
            [
                point(
                    "2026-09-01T08:00+08:00",
                    114,
                    21,
                    {"7": [100, 100, 100, 100], "10": [120, 0, 0, 0]},
                )
            ],
            "level-10",
        ),
        (
            [
                point("2026-09-01T08:00+08:00", 114, 21, RADII_KM),
                point("2026-09-01T02:00+08:00", 113, 22, RADII_KM),
            ],
            "times must increase",
        ),
        ([point("2026-09-01T08:00+08:00", 150, 10, RADII_KM)], "never reach the service area"),
    ],
)
def test_bad_tracks_are_400_naming_the_problem(track: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        run("typhoon-wind-circles", track=track)


# A 6 × 8 DEM (0.01° cells): the seed's river (0 m) runs into a basin; a second basin as low
# lies behind a 50 m ridge; a diagonal-only neighbour must stay dry too.
DEM = np.array(
    [
        [50, 50, 50, 50, 50, 50, 50, 50],
        [0, 2, 3, 50, 1, 1, 50, 50],
        [50, 2, 4, 50, 1, 1, 50, 50],
        [50, 3, 4, 50, 50, 50, 50, 50],
        [50, 50, 50, 3, 50, 50, 50, 50],
        [50, 50, 50, 50, 50, 50, 50, np.nan],
    ],
    dtype=np.float64,
)
TRANSFORM = Affine(0.01, 0, 113.0, 0, -0.01, 23.0)
SEED = [113.005, 22.985]  # row 1, column 0


def test_flood_reaches_connected_low_cells_only(tmp_path: Path) -> None:
    data = np.where(np.isnan(DEM), -9999.0, DEM)
    path = write_tif(tmp_path / "dem.tif", data, TRANSFORM)
    result = run("flood-inundation", dem={"path": str(path)}, water_level_m=5.0, seeds=[SEED])
    with rasterio.MemoryFile(result.rasters["depth"].to_geotiff()) as memory, memory.open() as ds:
        flooded = ~np.isnan(ds.read(1))
    labels, _ = ndimage.label(DEM < 5.0)  # the reference: below-level regions (edge neighbours)
    expected = labels == labels[1, 0]
    assert (flooded == expected).all()
    assert not flooded[1:3, 4:6].any() and not flooded[4, 3]  # the basin and the corner cell
    assert flooded.sum() == 7
    cells = [
        shapely.box(113.0 + 0.01 * c, 22.99 - 0.01 * r, 113.01 + 0.01 * c, 23.0 - 0.01 * r)
        for r, c in zip(*np.nonzero(expected), strict=True)
    ]
    extent = result.features["extent"]
    union = shapely.union_all(cells)
    assert extent.geometry.iloc[0].symmetric_difference(union).area < 1e-12
    # (rel 1e-4: the extent has a vertex at every cell corner, which the projection follows)
    assert extent["area_km2"].iloc[0] == pytest.approx(area_km2(np.array([union]))[0], rel=1e-4)
    assert extent["max_depth_m"].iloc[0] == 5.0


def test_a_seed_above_the_water_is_a_400(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "dem.tif", np.where(np.isnan(DEM), -9999.0, DEM), TRANSFORM)
    with pytest.raises(InvalidParameter, match=r"seeds\[0\]: .*ground is 50.0 m"):
        run(
            "flood-inundation",
            dem={"path": str(path)},
            water_level_m=5.0,
            seeds=[[113.035, 22.985]],
        )


def test_a_level_missing_at_a_point_grows_from_the_centre() -> None:
    weak = {"7": [100, 100, 100, 100]}
    track = [
        point("2026-09-01T08:00+08:00", 114, 21, weak),
        point("2026-09-01T14:00+08:00", 114, 22, RADII_KM),
    ]
    result = run("typhoon-wind-circles", track=track)
    circles = result.features["circles"]
    assert sorted(zip(circles["time"].str[11:16], circles["level"], strict=True)) == [
        ("08:00", 7), ("14:00", 7), ("14:00", 10), ("14:00", 12)
    ]  # fmt: skip
    areas = result.features["areas"].set_index("level")
    assert areas.loc[12, "start"] == areas.loc[12, "end"] == "2026-09-01T14:00:00+08:00"
    # The 12-level area is the hull from the first centre to the second circle: it holds the
    # first centre and no point 1 km west of it.
    assert areas.loc[12, "geometry"].buffer(1e-9).contains(shapely.Point(114, 21))
    assert not areas.loc[12, "geometry"].contains(shapely.Point(GEOD.fwd(114, 21, 270, 1000)[:2]))
