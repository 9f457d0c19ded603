"""Slope classes and categorical zonal statistics (issue 17, analysis 6): a hand-checked
case, a brute-force per-pixel reference (each cell's covered share by 20 × 20 sub-points,
its area by pyproj.Geod), and the 国土调查 grades against numpy thresholds of terrain's slope."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import CRS, Geod

from layers.errors import InvalidParameter
from spatial.analyses import DEFAULT_REGISTRY
from spatial.analyses.classes import _check_classes, slope_classes
from spatial.context import Context
from spatial.geodesy import EQUAL_AREA_CRS, geodesic_area_km2
from spatial.inputs import LayerInput, RasterInput, raster_source, read_layer
from spatial.results import Raster
from spatial.terrain import read_raster, slope_aspect, to_metric_grid
from spatial.zonal.categorical import categorical_table, cell_areas_km2

GEOD = Geod(ellps="GRS80")
LONLAT = CRS.from_epsg(4490)


def test_a_hand_checked_case_on_a_metric_grid() -> None:
    classes = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]], dtype=float)
    raster = Raster(classes, Affine(1000, 0, 0, 0, -1000, 4000), EQUAL_AREA_CRS)
    zone = shapely.box(500, 1500, 2500, 3500)  # a 2 km square over the middle, off the cells
    table = categorical_table(raster, np.array([zone]), ["z"])
    areas = dict(zip(table["class"], table["area_km2"], strict=True))
    # class 1: ¼ + ½ + ½ + 1; class 2: ¼ + ½; class 3: ¼ + ½; class 4: ¼ (cells of 1 km²)
    assert areas == pytest.approx({1: 2.25, 2: 0.75, 3: 0.75, 4: 0.25}, abs=1e-12)
    assert table["share"].sum() == pytest.approx(1.0)


def _geod_cell_km2(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    """A lon/lat cell, its parallels densified (geodesic edges would cut the corners)."""
    lons = np.linspace(lon0, lon1, 50)
    ring = [*zip(lons, [lat0] * 50, strict=True), *zip(lons[::-1], [lat1] * 50, strict=True)]
    area, _ = GEOD.polygon_area_perimeter(*zip(*ring, strict=True))
    return abs(area) / 1e6


def test_categorical_areas_match_a_brute_force_per_pixel_sum() -> None:
    rng = np.random.default_rng(17)
    step = 0.02
    classes = rng.integers(1, 5, size=(40, 50)).astype(float)
    classes[0, 0] = np.nan  # nodata counts for no class
    transform = Affine(step, 0, 113.0, 0, -step, 23.8)
    raster = Raster(classes, transform, LONLAT)
    zone = shapely.Polygon([(113.05, 23.1), (113.9, 23.2), (113.6, 23.75), (113.1, 23.5)])
    table = categorical_table(raster, np.array([zone]), ["z"])
    n = 20  # sub-points per cell side
    expected = {c: 0.0 for c in (1, 2, 3, 4)}
    for row in range(40):
        lat1 = 23.8 - row * step
        cell_km2 = _geod_cell_km2(113.0, lat1 - step, 113.0 + step, lat1)
        for col in range(50):
            if np.isnan(classes[row, col]):
                continue
            x0 = 113.0 + col * step
            xs, ys = np.meshgrid(
                x0 + (np.arange(n) + 0.5) * step / n, lat1 - (np.arange(n) + 0.5) * step / n
            )
            share = shapely.contains_xy(zone, xs.ravel(), ys.ravel()).mean()
            expected[int(classes[row, col])] += share * cell_km2
    found = dict(zip(table["class"], table["area_km2"], strict=True))
    assert found == pytest.approx(expected, rel=5e-3)  # the sub-point share's error
    assert cell_areas_km2(raster)[0] == pytest.approx(
        _geod_cell_km2(113.0, 23.78, 113.02, 23.8), rel=1e-7
    )


def test_slope_classes_are_numpy_thresholds_of_the_slope(ctx: Context) -> None:
    inputs = {"dem": {"collection": "gd-dem"}, "cell_m": 5000,
              "units": {"collection": "gd-counties", "adcode": "440100"}}  # fmt: skip
    result = DEFAULT_REGISTRY.get("slope-classes").execute(inputs, ctx)
    raster = result.rasters["slope_class"]
    dem = read_raster(raster_source(ctx, RasterInput(collection="gd-dem")))
    slope = slope_aspect(to_metric_grid(dem, 5000))[0].data
    grades = np.select(
        [slope <= 2, slope <= 6, slope <= 15, slope <= 25, slope > 25], [1, 2, 3, 4, 5], np.nan
    )
    assert np.array_equal(raster.data, grades, equal_nan=True)
    areas = result.values["areas"]
    counties = read_layer(ctx, LayerInput(collection="gd-counties", adcode="440100"))
    for adcode, geom in zip(counties["adcode"], counties.geometry, strict=True):
        total = sum(r["area_km2"] for r in areas if r["zone"] == adcode)
        assert total == pytest.approx(geodesic_area_km2(geom), rel=1e-3), adcode
    assert {row["label"] for row in areas} <= {"≤2°", "2–6°", "6–15°", "15–25°", ">25°"}
    edge = Raster(np.array([[2.0, 6.0, 15.0, 25.0, 25.01, np.nan]]), raster.transform, raster.crs)
    assert slope_classes(edge).data.tolist()[0][:5] == [1, 2, 3, 4, 5]  # bounds: lower class


def test_a_continuous_raster_is_no_class_raster() -> None:
    grid = Affine(1000, 0, 0, 0, -1000, 4000)
    with pytest.raises(InvalidParameter, match="raster: its values are not integer classes"):
        _check_classes(Raster(np.array([[1.0, 2.5]]), grid, EQUAL_AREA_CRS))
    with pytest.raises(InvalidParameter, match="raster: more than 1000 classes"):
        _check_classes(Raster(np.arange(1001.0).reshape(1, -1), grid, EQUAL_AREA_CRS))


@pytest.mark.parametrize("process", ["slope-classes", "terrain"])
def test_a_cell_too_small_to_count_is_a_400(ctx: Context, process: str) -> None:
    """5e-324 m (> 0, as the schema asks): rasterio's grid size overflowed into a 500."""
    analysis = DEFAULT_REGISTRY.get(process)
    inputs = {"dem": {"collection": "gd-dem"}, "cell_m": 5e-324}
    steps = [analysis.execute, *([analysis.cost] if analysis.estimate else [])]
    for step in steps:  # the run, and its estimate where it has one (terrain)
        with pytest.raises(InvalidParameter, match=r"cell_m: .* too many cells to count"):
            step(inputs, ctx)
