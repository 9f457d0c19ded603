"""Zonal statistics' own coverage fractions and quantiles against cell-by-cell shapely answers."""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from layers.errors import InvalidParameter
from spatial.zonal import quantiles as zonal_quantiles
from spatial.zonal import scan as zonal_scan
from spatial.zonal import zonal_statistics
from spatial.zonal.coverage import pieces
from spatial.zonal.quantiles import weighted_quantiles

GRID = Affine(0.37, 0, 10.0, 0, -0.29, 30.0)


def shapely_fractions(
    polygon: shapely.Geometry, transform: Affine, shape: tuple[int, int]
) -> np.ndarray:
    out = np.zeros(shape)
    for row, col in itertools.product(range(shape[0]), range(shape[1])):
        x0, y0 = transform @ (col, row)
        x1, y1 = transform @ (col + 1, row + 1)
        cell = shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        out[row, col] = cell.intersection(polygon).area / cell.area
    return out


def midpoint_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The midpoint rule written out: value i stands at (weight before it + half its own)."""
    pairs = sorted(zip(values.tolist(), weights.tolist(), strict=True))
    total, running, points = float(weights.sum()), 0.0, []
    for value, weight in pairs:
        points.append(((running + weight / 2) / total, value))
        running += weight
    if q <= points[0][0]:
        return points[0][1]
    for (p1, v1), (p2, v2) in itertools.pairwise(points):
        if p1 <= q <= p2:
            return v1 + (v2 - v1) * (q - p1) / (p2 - p1)
    return points[-1][1]


def awkward_polygons(seed: int) -> list[shapely.Geometry]:
    """Random blobs with holes, plus edges along grid lines and horizontal edges inside rows."""
    rng = np.random.default_rng(seed)
    shapes = []
    for _ in range(6):
        points = rng.uniform([10, 24], [17, 30], (8, 2))
        blob = shapely.Polygon(points).buffer(0.3).difference(shapely.Point(points[0]).buffer(0.8))
        on_grid = shapely.box(*(GRID @ (2, 20)), *(GRID @ (6, 16)))
        in_rows = shapely.box(11.1, 25.1, 13.9, 25.75)
        shapes.append(shapely.union_all([shapely.make_valid(blob), on_grid, in_rows]))
    # Rings as drawn, not normalised: a counter-clockwise hole in a counter-clockwise shell, and
    # a clockwise second part.
    shell, hole = [(11, 25), (16, 25), (16, 29), (11, 29)], [(12, 26), (14, 26), (14, 28), (12, 28)]
    clockwise = shapely.Polygon([(16.5, 24.5), (16.5, 26.2), (17.3, 26.2), (17.3, 24.5)])
    shapes.append(shapely.MultiPolygon([shapely.Polygon(shell, [hole]), clockwise]))
    return shapes


@pytest.mark.parametrize("window", [(0, 0, 20, 22), (5, 3, 8, 9), (-3, -2, 30, 30)])
def test_coverage_fractions_equal_shapely_areas(window: tuple[int, int, int, int]) -> None:
    col_off, row_off, width, height = window
    for polygon in awkward_polygons(seed=1):
        expected = shapely_fractions(
            polygon, GRID @ Affine.translation(col_off, row_off), (height, width)
        )
        cut = pieces(polygon, GRID, col_off, row_off, width, height)
        for top, bottom in ((0, height), (2, 5), (height - 1, height)):
            cells = cut.cells(top, bottom)
            got = np.zeros((bottom - top, width))
            got[:, cells.left : cells.left + cells.inside.shape[1]] = cells.inside
            assert not cells.inside[cells.row, cells.col].any()  # a cell is full or partial
            got[cells.row, cells.col + cells.left] = cells.fraction
            assert got == pytest.approx(expected[top:bottom], abs=1e-12)


def write(path: Path, bands: list[np.ndarray], transform: Affine, nodata: float | None) -> Path:
    with rasterio.open(
        path, "w", driver="GTiff", height=bands[0].shape[0], width=bands[0].shape[1],
        count=len(bands), dtype=bands[0].dtype, crs="EPSG:3857", transform=transform,
        nodata=nodata,
    ) as dst:  # fmt: skip
        for i, band in enumerate(bands, start=1):
            dst.write(band, i)
    return path


def test_statistics_in_strips_threads_and_bands_equal_brute_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zonal_scan, "STRIP_CELLS", 7)  # several strips per zone
    monkeypatch.setattr(zonal_quantiles, "SAMPLE", 5)  # coarse samples: brackets get re-checked
    rng = np.random.default_rng(3)
    first = rng.uniform(0, 50, (22, 20)).round(1)
    second = rng.integers(0, 9, (22, 20)).astype(np.float64)  # many ties
    second[4:9, 3:7] = np.nan
    second[10, :] = -1.0  # nodata
    transform = GRID @ Affine.translation(-1, -1)
    path = write(tmp_path / "two.tif", [first, second], transform, nodata=-1.0)
    zones = awkward_polygons(seed=2)
    frame = gpd.GeoDataFrame(geometry=zones, crs=3857)
    got = zonal_statistics(path, frame, percentiles=(0, 10, 50, 90, 100), band=2)
    for i, zone in enumerate(zones):
        weights = shapely_fractions(zone, transform, second.shape).ravel()
        keep = (weights > 0) & ~np.isnan(second.ravel()) & (second.ravel() != -1.0)
        w, v = weights[keep], second.ravel()[keep]
        mean = (w * v).sum() / w.sum()
        expected = {
            "valid_count": w.sum(),
            "sum": (w * v).sum(),
            "mean": mean,
            "std": np.sqrt((w * (v - mean) ** 2).sum() / w.sum()),
            "min": v.min(),
            "max": v.max(),
            **{f"p{p}": midpoint_quantile(v, w, p / 100) for p in (0, 10, 50, 90, 100)},
        }
        for name, value in expected.items():
            assert got.loc[i, name] == pytest.approx(value, rel=1e-9, abs=1e-9), (i, name)


def test_zones_larger_than_the_raster_or_empty_and_integer_cells(tmp_path: Path) -> None:
    data = np.arange(24, dtype=np.int16).reshape(4, 6)
    path = write(tmp_path / "int.tif", [data], Affine(1, 0, 0, 0, -1, 4), nodata=5)
    zones = gpd.GeoDataFrame(
        geometry=[shapely.box(-100, -100, 100, 100), shapely.box(4, 2, 60, 70), shapely.Polygon()],
        crs=3857,
    )
    got = zonal_statistics(path, zones, percentiles=(50,))
    valid = data[data != 5].astype(float)
    assert got.loc[0, "valid_count"] == len(valid)
    assert got.loc[0, "mean"] == pytest.approx(valid.mean())
    assert got.loc[0, "p50"] == pytest.approx(np.percentile(valid, 50, method="hazen"))
    corner = data[:2, 4:].astype(float)  # rows 0-1 (y 2..4), columns 4-5; 5 is nodata
    assert got.loc[1, "valid_count"] == 3
    assert got.loc[1, "mean"] == pytest.approx(corner[corner != 5].mean())
    assert got.loc[2, "valid_count"] == 0 and np.isnan(got.loc[2, ["mean", "p50"]]).all()


def test_rotated_grids_and_missing_bands_are_400s(tmp_path: Path) -> None:
    zones = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=3857)
    rotated = write(tmp_path / "rot.tif", [np.ones((4, 4))], Affine(1, 0.2, 0, 0.1, -1, 4), None)
    with pytest.raises(InvalidParameter, match="rotated"):
        zonal_statistics(rotated, zones)
    plain = write(tmp_path / "plain.tif", [np.ones((4, 4))], Affine(1, 0, 0, 0, -1, 4), None)
    with pytest.raises(InvalidParameter, match="band: 2 does not exist"):
        zonal_statistics(plain, zones, band=2)
    with pytest.raises(InvalidParameter, match=r"outside 0\.\.100"):
        zonal_statistics(plain, zones, percentiles=(101,))


def test_quantiles_survive_a_misleading_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sampled value is the smallest: the bracket fails its count and exact pivots win."""
    monkeypatch.setattr(zonal_quantiles, "SAMPLE", 10)
    values = np.arange(1000, dtype=np.float32)
    values[::100] = -5.0
    part = np.array([3.5, 700.25], dtype=np.float32)
    fractions = np.array([0.25, 0.5])
    qs = [0.0, 0.3, 0.5, 0.97, 1.0]
    got = weighted_quantiles([values[:400], values[400:]], part, fractions, qs)
    all_values = np.concatenate([values, part])
    all_weights = np.concatenate([np.ones(1000), fractions])
    assert got == pytest.approx([midpoint_quantile(all_values, all_weights, q) for q in qs])
