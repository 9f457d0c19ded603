"""Zonal statistics, interpolation, terrain and suitability on hand-built rasters."""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import CRS

from layers.errors import InvalidParameter
from spatial.candidates import top_candidates
from spatial.interpolation import exceedance_polygons, idw, interpolate, thin_plate_spline
from spatial.results import Raster
from spatial.suitability import site_mask, suitability
from spatial.terrain import slope_aspect, to_metric_grid
from spatial.zonal import zonal_statistics

UTM49 = CRS.from_epsg(32649)


def write_tif(path: Path, data: np.ndarray, transform: Affine, crs: str = "EPSG:4490") -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype="float64",
        crs=crs,
        transform=transform,
        nodata=-9999.0,
    ) as dst:
        dst.write(data, 1)
    return path


def brute_force_stats(
    data: np.ndarray, transform: Affine, polygon: shapely.Geometry, nodata: float
) -> dict[str, float]:
    """Cell-by-cell coverage fractions with shapely: the independent answer."""
    weights, values = [], []
    for row in range(data.shape[0]):
        for col in range(data.shape[1]):
            x0, y0 = transform @ (col, row)
            x1, y1 = transform @ (col + 1, row + 1)
            cell = shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
            fraction = cell.intersection(polygon).area / cell.area
            if fraction > 0 and data[row, col] != nodata:
                weights.append(fraction)
                values.append(data[row, col])
    w, v = np.array(weights), np.array(values)
    mean = float((w * v).sum() / w.sum())
    pairs = sorted(zip(values, weights, strict=True))
    total, running, points = sum(weights), 0.0, []
    for value, weight in pairs:  # midpoint rule, written out by hand
        points.append(((running + weight / 2) / total, value))
        running += weight
    median = next(
        v1 + (v2 - v1) * (0.5 - p1) / (p2 - p1)
        for (p1, v1), (p2, v2) in itertools.pairwise(points)
        if p1 <= 0.5 <= p2
    )
    return {
        "valid_count": float(w.sum()),
        "sum": float((w * v).sum()),
        "mean": mean,
        "min": float(v.min()),
        "max": float(v.max()),
        "std": float(np.sqrt((w * (v - mean) ** 2).sum() / w.sum())),
        "p50": median,
    }


def test_zonal_statistics_weight_cells_by_exact_coverage(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    data = rng.uniform(0, 100, (20, 20)).round(1)
    data[3, 4] = -9999.0  # nodata is ignored
    transform = Affine(0.01, 0, 113.0, 0, -0.01, 23.2)
    path = write_tif(tmp_path / "dem.tif", data, transform)
    triangle = shapely.Polygon([(113.013, 23.187), (113.171, 23.044), (113.036, 23.011)])
    half_cell = shapely.box(113.0, 23.19, 113.005, 23.2)  # half of the top-left cell
    zones = gpd.GeoDataFrame(
        {"name": ["triangle", "half"]}, geometry=[triangle, half_cell], crs=4490
    )
    stats = zonal_statistics(path, zones, percentiles=(50,))
    expected = brute_force_stats(data, transform, triangle, -9999.0)
    for key, value in expected.items():
        assert stats.loc[0, key] == pytest.approx(value, rel=1e-6), key
    assert stats.loc[1, "valid_count"] == pytest.approx(0.5)
    assert stats.loc[1, "sum"] == pytest.approx(0.5 * data[0, 0])
    assert stats.loc[1, "p50"] == pytest.approx(data[0, 0])


def test_zonal_statistics_mismatches_say_what_to_change(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "r.tif", np.ones((4, 4)), Affine(0.01, 0, 113, 0, -0.01, 23))
    far = gpd.GeoDataFrame(geometry=[shapely.box(100, 40, 101, 41)], crs=4490)
    with pytest.raises(InvalidParameter, match="do not overlap the raster"):
        zonal_statistics(path, far)
    points = gpd.GeoDataFrame(geometry=[shapely.Point(113.01, 22.99)], crs=4490)
    with pytest.raises(InvalidParameter, match="Point"):
        zonal_statistics(path, points)


def test_idw_by_hand() -> None:
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 2000.0]])
    values = np.array([1.0, 2.0, 3.0])
    targets = np.array([[0.0, 0.0], [500.0, 0.0], [300.0, 400.0]])
    got = idw(xy, values, targets, power=2)
    w = 1 / np.array([500.0**2 + 0, 500.0**2, 500.0**2 + 2000.0**2])
    assert got[0] == 1.0
    assert got[1] == pytest.approx((w * values).sum() / w.sum())
    d2 = ((xy - targets[2]) ** 2).sum(axis=1)
    assert got[2] == pytest.approx((values / d2).sum() / (1 / d2).sum())


def test_thin_plate_spline_is_exact_and_reproduces_planes() -> None:
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 50_000, (30, 2))
    plane = 3.0 + 0.001 * xy[:, 0] - 0.002 * xy[:, 1]
    assert thin_plate_spline(xy, plane, xy) == pytest.approx(plane, abs=1e-6)
    target = np.array([[20_000.0, 10_000.0]])
    assert thin_plate_spline(xy, plane, target)[0] == pytest.approx(3.0 + 20 - 20, abs=1e-6)


def readings(values: list[float]) -> gpd.GeoDataFrame:
    pts = [(113.0, 23.0), (113.2, 23.0), (113.0, 23.2), (113.2, 23.2)]
    return gpd.GeoDataFrame({"pm25": values}, geometry=[shapely.Point(p) for p in pts], crs=4490)


@pytest.mark.parametrize("method", ["idw", "thin_plate_spline"])
def test_interpolated_surface_and_exceedance_area(method: str) -> None:
    surface = interpolate(
        readings([10, 20, 30, 80]),
        "pm25",
        method=method,  # type: ignore[arg-type]
        cell_m=500,
    )
    assert np.nanmin(surface.data) >= 10 - 1e-6 if method == "idw" else True
    polygons = exceedance_polygons(surface, 50.0)
    cells = int((surface.data >= 50).sum())
    assert cells > 0
    assert polygons["area_km2"].sum() == pytest.approx(cells * 0.25, rel=1e-9)
    top_right = shapely.Point(113.2, 23.2)
    assert shapely.distance(polygons.geometry.values._data, top_right).min() < 0.01


def test_interpolation_rejects_polygons_and_few_points() -> None:
    with pytest.raises(InvalidParameter, match="at least 3"):
        interpolate(readings([1, None, None, 2]), "pm25")  # type: ignore[list-item]
    polys = gpd.GeoDataFrame({"v": [1]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4490)
    with pytest.raises(InvalidParameter, match="Polygon"):
        interpolate(polys, "v")


def plane(fx: float, fy: float, size: int = 50, cell: float = 30.0) -> Raster:
    t = Affine(cell, 0, 500_000, 0, -cell, 2_560_000)
    cols, rows = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)
    east, north = t @ (cols, rows)
    return Raster(data=fx * (east - 500_000) + fy * (north - 2_500_000), transform=t, crs=UTM49)


def test_slope_and_aspect_of_planes() -> None:
    slope, aspect = slope_aspect(plane(0.1, 0.0))
    assert np.allclose(slope.data, np.degrees(np.arctan(0.1)))
    assert np.allclose(aspect.data, 270.0)  # rising to the east faces west
    _, aspect = slope_aspect(plane(0.0, 0.2))
    assert np.allclose(aspect.data, 180.0)  # rising to the north faces south
    slope, aspect = slope_aspect(plane(0.0, 0.0))
    assert np.allclose(slope.data, 0.0) and np.isnan(aspect.data).all()


def test_geographic_dem_is_resampled_to_metres() -> None:
    dem = Raster(
        data=np.ones((10, 10)),
        transform=Affine(0.01, 0, 113, 0, -0.01, 23.1),
        crs=CRS.from_epsg(4490),
    )
    metric = to_metric_grid(dem, cell_m=500)
    assert not metric.crs.is_geographic and metric.transform.a == 500


def test_suitability_prefers_flat_land_near_roads_outside_exclusions() -> None:
    dem = plane(0.0, 0.0, size=60, cell=100.0)
    to_lonlat = gpd.GeoSeries(crs=UTM49)
    road = to_lonlat._constructor(
        [shapely.LineString([(500_050, 2_560_000), (500_050, 2_554_000)])], crs=UTM49
    ).to_crs(4490)
    exclusion = gpd.GeoSeries(
        [shapely.box(500_000, 2_559_000, 501_000, 2_560_000)], crs=UTM49
    ).to_crs(4490)
    study = gpd.GeoSeries([shapely.box(499_000, 2_553_000, 507_000, 2_561_000)], crs=UTM49)
    mask = site_mask(dem, study.to_crs(4490).iloc[0], exclusion)
    assert mask.excluded_km2 == pytest.approx(1.0, rel=1e-6)
    score = suitability(dem, road, mask, max_road_distance_m=3000)
    assert score.data[30, 0] == pytest.approx(1.0)
    assert score.data[30, 10] == pytest.approx(0.5 + 0.5 * (1 - 1000 / 3000))
    assert score.data[5, 0] == 0.0  # excluded
    best = top_candidates(score, mask, n=2, best_share=0.1)
    assert list(best["rank"]) == [1] or list(best["rank"]) == [1, 2]
    assert best.loc[0, "mean_score"] > 0.9
    assert best.to_crs(UTM49).geometry[0].bounds[0] == pytest.approx(500_000, abs=1)
