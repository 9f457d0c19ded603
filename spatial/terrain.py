"""Slope and aspect of a DEM, on a metric grid.

Geographic DEMs are first resampled onto the Albers equal-area grid (``to_metric_grid``),
whose cells are square in metres to within 0.3 % across Guangdong, so one Horn kernel
serves every cell. Slope is in degrees; aspect is the downslope direction in degrees
clockwise from north (NaN where flat).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS
from rasterio.warp import Resampling, calculate_default_transform, reproject

from layers.errors import InvalidParameter
from spatial.geodesy import EQUAL_AREA_CRS
from spatial.interpolation import MAX_CELLS, uncountable_grid
from spatial.raster_source import RasterSource, read_clipped
from spatial.results import Raster


def read_raster(raster: RasterSource | Path | str, band: int = 1) -> Raster:
    """One band, NaN for nodata (and outside an area-limited caller's areas: ``RasterSource``)."""
    source = RasterSource.of(raster)
    with rasterio.open(source.path) as dataset:
        if dataset.crs is None:
            raise InvalidParameter(f"raster {source.path.name} has no CRS")
        data, transform = read_clipped(dataset, band, source)
        crs = CRS.from_wkt(dataset.crs.to_wkt())
        return Raster(data=data, transform=transform, crs=crs)


def metric_shape(
    crs: object,
    width: int,
    height: int,
    bounds: tuple[float, float, float, float],
    cell_m: float | None,
) -> tuple[Affine, int, int]:
    """The equal-area grid a geographic raster of ``width`` × ``height`` cells over
    ``bounds`` (left, bottom, right, top) is resampled onto, at ``cell_m`` or its own size."""
    resolution = None if cell_m is None else (cell_m, cell_m)
    left, bottom, right, top = bounds
    try:
        transform, out_w, out_h = calculate_default_transform(
            crs, EQUAL_AREA_CRS, width, height, left, bottom, right, top, resolution=resolution
        )
    except OverflowError:  # rasterio: ceil(width × ratio) of an infinite ratio
        raise uncountable_grid(cell_m or 0.0) from None
    return transform, int(out_w), int(out_h)


def to_metric_grid(raster: Raster, cell_m: float | None = None) -> Raster:
    """The raster on the equal-area grid (bilinear) unless it is projected already."""
    if not raster.crs.is_geographic:
        return raster
    height, width = raster.shape
    left, top = raster.transform @ (0, 0)
    right, bottom = raster.transform @ (width, height)
    bounds = (left, bottom, right, top)
    transform, out_w, out_h = metric_shape(raster.crs, width, height, bounds, cell_m)
    if out_w * out_h > MAX_CELLS:
        raise InvalidParameter(
            f"cell_m: {out_w * out_h:,} cells at cell_m={cell_m}; use a larger cell"
        )
    target = np.full((out_h, out_w), np.nan)
    reproject(
        raster.data,
        target,
        src_transform=raster.transform,
        src_crs=raster.crs,
        dst_transform=transform,
        dst_crs=EQUAL_AREA_CRS,
        src_nodata=np.nan,
        dst_nodata=np.nan,
        resampling=Resampling.bilinear,
    )
    return Raster(data=target, transform=transform, crs=EQUAL_AREA_CRS)


def _gradients(raster: Raster) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """dz/d(east) and dz/d(north) by Horn's 3×3 kernel; edges extrapolated linearly."""
    if raster.crs.is_geographic:
        raise InvalidParameter("slope needs a metric grid; call to_metric_grid first")
    t: Affine = raster.transform
    dx, dy = abs(t.a), abs(t.e)
    z = np.pad(raster.data, 1, mode="reflect", reflect_type="odd")
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, f = z[1:-1, :-2], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    east = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * dx)
    north = ((a + 2 * b + c) - (g + 2 * h + i)) / (8 * dy)
    return east, north


def slope_aspect(raster: Raster) -> tuple[Raster, Raster]:
    east, north = _gradients(raster)
    slope = np.degrees(np.arctan(np.hypot(east, north)))
    aspect = np.degrees(np.arctan2(-east, -north)) % 360.0
    aspect = np.where(np.hypot(east, north) < 1e-9, np.nan, aspect)
    return (
        Raster(data=slope, transform=raster.transform, crs=raster.crs),
        Raster(data=aspect, transform=raster.transform, crs=raster.crs),
    )
