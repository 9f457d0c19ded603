"""Point readings to a raster: inverse distance weighting and a thin-plate spline.

Interpolation runs on a grid in the Albers equal-area CRS (metres, square cells of equal
area), so distances are metres and an exceedance polygon's area is its cell count × cell area.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from numpy.typing import NDArray
from rasterio import features as rio_features
from scipy.interpolate import RBFInterpolator
from scipy.spatial import cKDTree

from layers.errors import InvalidParameter
from spatial.errors import PUNCTUAL, check_geometry_types
from spatial.geodesy import EQUAL_AREA_CRS, STORAGE_CRS, from_equal_area, to_equal_area
from spatial.results import Raster

Method = Literal["idw", "thin_plate_spline"]
MAX_CELLS = 25_000_000


def idw(
    xy: NDArray[np.float64],
    values: NDArray[np.float64],
    targets: NDArray[np.float64],
    power: float = 2.0,
    neighbours: int = 12,
) -> NDArray[np.float64]:
    """Shepard's IDW over the ``neighbours`` nearest readings; exact at the readings."""
    k = min(neighbours, len(xy))
    distances, index = cKDTree(xy).query(targets, k=k)
    distances = distances.reshape(len(targets), k)
    index = index.reshape(len(targets), k)
    with np.errstate(divide="ignore"):
        weights = 1.0 / distances**power
    exact = distances[:, 0] == 0
    weights[exact] = 0.0
    weights[exact, 0] = 1.0
    result: NDArray[np.float64] = (weights * values[index]).sum(axis=1) / weights.sum(axis=1)
    return result


def thin_plate_spline(
    xy: NDArray[np.float64],
    values: NDArray[np.float64],
    targets: NDArray[np.float64],
    smoothing: float = 0.0,
) -> NDArray[np.float64]:
    """A thin-plate spline through the readings (``smoothing`` > 0 relaxes the fit)."""
    shared = len(xy) - len(np.unique(xy, axis=0))
    if shared and smoothing == 0:
        raise InvalidParameter(
            f"readings: {shared} readings share a location with another; a thin-plate spline "
            "cannot pass through two values at one point — give smoothing > 0, merge them, "
            "or use method 'idw'"
        )
    scale = max(float(np.ptp(xy[:, 0])), float(np.ptp(xy[:, 1])), 1.0)
    try:
        model = RBFInterpolator(xy / scale, values, kernel="thin_plate_spline", smoothing=smoothing)
    except (np.linalg.LinAlgError, ValueError) as exc:  # e.g. all readings on one line
        raise InvalidParameter(
            f"readings: a thin-plate spline cannot be fitted to these readings ({exc}); "
            "use method 'idw'"
        ) from None
    result: NDArray[np.float64] = model(targets / scale)
    return result


def grid_shape(bounds: tuple[float, float, float, float], cell_m: float) -> tuple[int, int]:
    """Width and height of the ``cell_m`` grid over ``bounds`` (equal-area metres)."""
    minx, miny, maxx, maxy = bounds
    with np.errstate(over="ignore"):
        width, height = np.ceil((maxx - minx) / cell_m), np.ceil((maxy - miny) / cell_m)
    if not np.isfinite(width * height):
        raise uncountable_grid(cell_m)
    return max(1, int(width)), max(1, int(height))


def uncountable_grid(cell_m: float) -> InvalidParameter:
    """A cell so small (e.g. 5e-324 m) that the grid's size is no finite number."""
    return InvalidParameter(
        f"cell_m: {cell_m} m makes a grid of too many cells to count; give a larger cell_m"
    )


# Peak bytes, measured (tracemalloc for IDW, peak RSS for the spline; 10^4..10^5 cells):
# IDW holds k distances, indices, weights and weighted values per cell (31.4 B × k) besides
# the cell's coordinates and result (100 B); the spline's dense system is 9-13 B × n².
CELL_BYTES = 112
NEIGHBOUR_BYTES = 32
SPLINE_BYTES = 16  # × readings²
SPLINE_FIXED = 16 * 2**20  # scipy's evaluation chunks


def interpolation_bytes(method: Method, cells: int, readings: int, neighbours: int) -> int:
    """The peak memory of ``interpolate`` on ``cells`` cells from ``readings`` readings."""
    if method == "idw":
        return cells * (CELL_BYTES + NEIGHBOUR_BYTES * min(neighbours, readings))
    return cells * CELL_BYTES + SPLINE_BYTES * readings**2 + SPLINE_FIXED


def cell_grid(bounds: tuple[float, float, float, float], cell_m: float) -> tuple[Affine, int, int]:
    minx, _, _, maxy = bounds
    width, height = grid_shape(bounds, cell_m)
    if width * height > MAX_CELLS:
        raise InvalidParameter(
            f"cell_m: a {cell_m:g} m grid over this area has {width * height:,} cells (max "
            f"{MAX_CELLS:,}); use a larger cell"
        )
    return Affine(cell_m, 0, minx, 0, -cell_m, maxy), width, height


def interpolate(
    readings: gpd.GeoDataFrame,
    value_field: str,
    *,
    method: Method = "idw",
    cell_m: float = 1000.0,
    area: shapely.Geometry | None = None,
    power: float = 2.0,
    neighbours: int = 12,
    smoothing: float = 0.0,
) -> Raster:
    """A raster (equal-area CRS) of ``value_field`` over ``area`` or the readings' extent."""
    check_geometry_types("the readings layer", readings.geom_type.unique(), PUNCTUAL)
    if value_field not in readings.columns:
        raise InvalidParameter(f"value_field: the readings have no field '{value_field}'")
    if cell_m <= 0:
        raise InvalidParameter(f"cell_m: must be positive, got {cell_m}")
    values = pd.to_numeric(readings[value_field], errors="coerce").to_numpy(dtype=float)
    points = to_equal_area(readings.geometry.values._data)
    keep = np.isfinite(values) & ~shapely.is_empty(points)
    if keep.sum() < 3:
        raise InvalidParameter(
            "readings: interpolation needs at least 3 readings with a numeric value"
        )
    xy = shapely.get_coordinates(points[keep])
    area_ea = to_equal_area(np.array([area], dtype=object))[0] if area is not None else None
    bounds = area_ea.bounds if area_ea is not None else tuple(shapely.total_bounds(points[keep]))
    transform, width, height = cell_grid(bounds, cell_m)
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    xs, ys = transform @ (cols.ravel(), rows.ravel())
    targets = np.column_stack([xs, ys])
    if method == "idw":
        grid = idw(xy, values[keep], targets, power, neighbours)
    else:
        grid = thin_plate_spline(xy, values[keep], targets, smoothing)
    data = grid.reshape(height, width)
    if area_ea is not None:
        inside = rio_features.geometry_mask([area_ea], (height, width), transform, invert=True)
        data = np.where(inside, data, np.nan)
    return Raster(data=data, transform=transform, crs=EQUAL_AREA_CRS)


def exceedance_polygons(raster: Raster, threshold: float) -> gpd.GeoDataFrame:
    """Polygons (EPSG:4490) of the cells at or above ``threshold``, with their km²."""
    above = np.nan_to_num(raster.data, nan=-np.inf) >= threshold
    shapes = rio_features.shapes(above.astype("uint8"), mask=above, transform=raster.transform)
    polys = np.array([shapely.geometry.shape(geom) for geom, _ in shapes], dtype=object)
    cell_km2 = abs(raster.transform.a * raster.transform.e) / 1e6
    if len(polys) == 0:
        return gpd.GeoDataFrame({"threshold": [], "area_km2": []}, geometry=[], crs=STORAGE_CRS)
    areas = shapely.area(polys) / 1e6
    frame = gpd.GeoDataFrame(
        {"threshold": threshold, "area_km2": areas, "cells": np.rint(areas / cell_km2)},
        geometry=from_equal_area(polys),
        crs=STORAGE_CRS,
    )
    return frame.sort_values("area_km2", ascending=False).reset_index(drop=True)
