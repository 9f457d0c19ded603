"""Area of each raster class in each zone, cells weighted by their exact covered fraction.

The fractions are ``coverage.pieces`` (exactextract's); a cell's area is exact for the grid:
its side product on a projected grid (the equal-area grid of ``terrain.to_metric_grid`` gives
true areas), and on a geographic grid the ellipsoidal area of the lon/lat quadrangle, which
depends on the row only.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from spatial.geodesy import GEOD
from spatial.results import Raster
from spatial.zonal.coverage import pieces

Floats = NDArray[np.float64]


def _band_area_m2(lat_deg: Floats) -> Floats:
    """Ellipsoidal area (m²) from the equator to ``lat_deg`` per radian of longitude."""
    e = math.sqrt(GEOD.es)
    s = np.sin(np.radians(lat_deg))
    b2 = GEOD.b**2
    return b2 * (s / (2 * (1 - e * e * s * s)) + np.arctanh(e * s) / (2 * e))


def cell_areas_km2(raster: Raster) -> Floats:
    """The area of one cell of each row, in km²."""
    t = raster.transform
    rows = np.arange(raster.shape[0] + 1, dtype=np.float64)
    if not raster.crs.is_geographic:
        return np.full(raster.shape[0], abs(t.a * t.e) / 1e6)
    edges = _band_area_m2(t.f + t.e * rows)
    return np.abs(np.diff(edges)) * math.radians(abs(t.a)) / 1e6


def class_areas(
    raster: Raster, zone: shapely.Geometry, row_km2: Floats
) -> tuple[NDArray[np.int64], Floats]:
    """The classes (integer cell values) under ``zone`` and the km² of each. ``zone`` is in
    the raster's CRS; NaN cells count for no class."""
    height, width = raster.shape
    if zone.is_empty:
        return np.array([], dtype=np.int64), np.array([])
    cells = pieces(zone, raster.transform, 0, 0, width, height).cells(0, height)
    span = raster.data[:, cells.left : cells.left + cells.inside.shape[1]]
    full_rows, _ = np.nonzero(cells.inside)
    values = np.concatenate([span[cells.inside], span[cells.row, cells.col]])
    weights = np.concatenate([row_km2[full_rows], cells.fraction * row_km2[cells.row]])
    valid = ~np.isnan(values)
    codes = np.rint(values[valid]).astype(np.int64)
    found, index = np.unique(codes, return_inverse=True)
    areas = np.bincount(index, weights=weights[valid], minlength=len(found)).astype(np.float64)
    return found, areas


def categorical_table(
    raster: Raster, zones: NDArray[np.object_], zone_ids: list[str]
) -> pd.DataFrame:
    """Rows of zone, class, area_km2 and share (of the zone's classified area)."""
    row_km2 = cell_areas_km2(raster)
    rows = []
    for zone_id, zone in zip(zone_ids, zones, strict=True):
        classes, km2 = class_areas(raster, zone, row_km2)
        total = float(km2.sum())
        for value, area in zip(classes, km2, strict=True):
            rows.append((zone_id, int(value), float(area), float(area) / total))
    return pd.DataFrame(rows, columns=["zone", "class", "area_km2", "share"])
