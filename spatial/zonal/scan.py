"""One zone's statistics, reading its window strip by strip."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
import shapely
from affine import Affine
from numpy.typing import NDArray
from rasterio.windows import Window

from layers.access.raster_areas import cells_inside
from layers.errors import InvalidParameter
from spatial.zonal.coverage import pieces
from spatial.zonal.zone_stats import ZoneStats

STRIP_CELLS = 1 << 18  # cells at once: small temporaries stay in cache and are reused


@dataclass(frozen=True)
class Grid:
    transform: Affine
    width: int
    height: int
    band: int
    nodata: float | None
    floating: bool
    area: shapely.Geometry | None = None  # an area-limited caller's, in the raster's CRS

    @classmethod
    def of(
        cls, dataset: rasterio.DatasetReader, band: int, area: shapely.Geometry | None = None
    ) -> Grid:
        transform = dataset.transform
        if transform.b != 0 or transform.d != 0:
            raise InvalidParameter("the raster grid is rotated; warp it north-up first")
        return cls(
            transform=transform,
            width=dataset.width,
            height=dataset.height,
            band=band,
            nodata=dataset.nodatavals[band - 1],
            floating=np.issubdtype(np.dtype(dataset.dtypes[band - 1]), np.floating),
            area=area,
        )

    def pixels(self, x: float, y: float) -> tuple[float, float]:
        """(column, row) of a point: north-up grids only (``of`` refuses rotated ones)."""
        t = self.transform
        return (x - t.c) / t.a, (y - t.f) / t.e

    def window(self, bounds: NDArray[np.float64]) -> tuple[int, int, int, int] | None:
        """(col_off, row_off, width, height) of the cells under ``bounds``."""
        if np.isnan(bounds).any():  # an empty zone
            return None
        (col0, row0), (col1, row1) = self.pixels(*bounds[:2]), self.pixels(*bounds[2:])
        col0, col1 = (
            max(0, math.floor(min(col0, col1))),
            min(self.width, math.ceil(max(col0, col1))),
        )
        row0, row1 = (
            max(0, math.floor(min(row0, row1))),
            min(self.height, math.ceil(max(row0, row1))),
        )
        if col1 <= col0 or row1 <= row0:
            return None
        return col0, row0, col1 - col0, row1 - row0

    def valid(self, values: NDArray[np.number[Any]]) -> NDArray[np.bool_]:
        """Which values are data: not nodata, not NaN."""
        valid = np.ones(len(values), dtype=np.bool_)
        if self.nodata is not None:
            valid &= values != self.nodata
        if self.floating:
            valid &= ~np.isnan(values)
        return valid

    def clip(self, geometry: shapely.Geometry, bounds: NDArray[np.float64]) -> shapely.Geometry:
        """Parts more than a cell outside the raster would only add pieces outside the window."""
        (col0, row0), (col1, row1) = self.pixels(*bounds[:2]), self.pixels(*bounds[2:])
        if min(col0, col1, row0, row1) >= -1 and (
            max(col0, col1) <= self.width + 1 and max(row0, row1) <= self.height + 1
        ):
            return geometry
        t = self.transform
        x0, x1 = t.c - t.a, t.c + t.a * (self.width + 1)
        y0, y1 = t.f - t.e, t.f + t.e * (self.height + 1)
        return shapely.intersection(geometry, shapely.box(x0, y0, x1, y1))


def zone_row(
    dataset: rasterio.DatasetReader, grid: Grid, geometry: shapely.Geometry, qs: Sequence[float]
) -> list[float]:
    """The zone's statistics over its valid cells (nodata and NaN left out)."""
    stats = ZoneStats(keep_values=bool(qs))
    bounds = shapely.bounds(geometry)
    window = grid.window(bounds)
    if window is None or (grid.area is not None and not shapely.intersects(geometry, grid.area)):
        return stats.row(qs)
    col_off, row_off, width, height = window
    cut = pieces(grid.clip(geometry, bounds), grid.transform, col_off, row_off, width, height)
    step = max(1, STRIP_CELLS // width)
    for top in range(0, height, step):
        bottom = min(height, top + step)
        cells = cut.cells(top, bottom)
        span = cells.inside.shape[1]
        if span <= 0:
            continue
        strip = Window(col_off + cells.left, row_off + top, span, bottom - top)
        data = dataset.read(grid.band, window=strip)  # (skips blocks no cell of it covers)
        full, part = data[cells.inside], data[cells.row, cells.col]
        valid_full, valid = grid.valid(full), grid.valid(part)
        if grid.area is not None:  # cells outside the caller's areas are no data to them
            inside = cells_inside(grid.area, dataset.window_transform(strip), data.shape)
            valid_full &= inside[cells.inside]
            valid &= inside[cells.row, cells.col]
        stats.add(full[valid_full], part[valid], cells.fraction[valid])
    return stats.row(qs)
