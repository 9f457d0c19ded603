"""A raster an analysis reads, and the areas its caller may read it in.

For an area-limited caller (``Context.clip``) a raster layer has nodata outside their areas:
cells whose centre lies outside are left out, the one rule of every raster path
(``layers.access.raster_areas``). A read that has no cell left is a 400 naming the input,
as an input with no feature is. Whole rasters are read only in the window the areas cover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import shapely
from numpy.typing import NDArray
from rasterio.windows import Window

from layers.access.raster_areas import area_in_crs, cells_inside
from layers.errors import InvalidParameter


@dataclass(frozen=True)
class RasterSource:
    """A raster file; ``clip``: the caller's areas (EWKB, storage CRS), None for all of it."""

    path: Path
    clip: bytes | None = None
    label: str = "the raster"  # how errors name it: "raster layer 'gd-dem'"

    @classmethod
    def of(cls, raster: RasterSource | Path | str) -> RasterSource:
        """A source as given, or a plain file path read whole (notebooks, scripts)."""
        return raster if isinstance(raster, RasterSource) else cls(Path(raster))

    def area(self, dataset: rasterio.DatasetReader) -> shapely.Geometry | None:
        """The caller's areas in the dataset's CRS, or None when it is read whole."""
        if self.clip is None:
            return None
        return area_in_crs(self.clip, dataset.crs.to_wkt())

    def nothing_inside(self, hint: str = "choose a raster that covers them") -> InvalidParameter:
        return InvalidParameter(
            f"{self.label} has no cell inside the areas you may read it in; {hint}"
        )


def area_window(
    dataset: rasterio.DatasetReader, area: shapely.Geometry, source: RasterSource
) -> Window:
    """The window of the dataset's cells under ``area``'s bounds (400 when none are)."""
    if area.is_empty:
        raise source.nothing_inside()
    left, bottom, right, top = shapely.bounds(area)
    window = rasterio.windows.from_bounds(left, bottom, right, top, dataset.transform)
    col0, row0 = max(0, math.floor(window.col_off)), max(0, math.floor(window.row_off))
    col1 = min(dataset.width, math.ceil(window.col_off + window.width))
    row1 = min(dataset.height, math.ceil(window.row_off + window.height))
    if col1 <= col0 or row1 <= row0:
        raise source.nothing_inside()
    return Window(col0, row0, col1 - col0, row1 - row0)


def read_clipped(
    dataset: rasterio.DatasetReader, band: int, source: RasterSource
) -> tuple[NDArray[np.float64], rasterio.Affine]:
    """Band ``band`` as floats with NaN for nodata — and, for an area-limited caller, for
    every cell outside their areas, in the window they cover — with its transform."""
    area = source.area(dataset)
    window = None if area is None else area_window(dataset, area, source)
    data = dataset.read(band, window=window, masked=True).astype("float64").filled(np.nan)
    if area is None:
        return data, dataset.transform
    transform = dataset.window_transform(window)
    data[~cells_inside(area, transform, data.shape)] = np.nan
    if np.isnan(data).all():
        raise source.nothing_inside()
    return data, transform
