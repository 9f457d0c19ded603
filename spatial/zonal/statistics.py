"""Zonal statistics of a raster per polygon, weighting each cell by its exact covered fraction.

A cell half inside a county counts half towards that county's mean, std, percentiles and
valid-cell count (the fractions are exactextract's, computed in ``spatial.zonal.coverage``).
Each zone reads only its own window, in strips, so the raster size is not bounded by RAM;
memory grows with the largest zone (its values are kept for the percentiles).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from layers.errors import InvalidParameter
from spatial.errors import POLYGONAL, check_geometry_types
from spatial.raster_source import RasterSource
from spatial.zonal.scan import Grid, zone_row

STATISTICS = ("valid_count", "min", "max", "mean", "std", "sum")


def _quantiles(percentiles: Sequence[float]) -> list[float]:
    for p in percentiles:
        if not 0 <= p <= 100:
            raise InvalidParameter(f"percentiles: {p} is outside 0..100")
    return [p / 100 for p in percentiles]


def zonal_statistics(
    raster: RasterSource | Path | str,
    zones: gpd.GeoDataFrame,
    percentiles: Sequence[float] = (10, 50, 90),
    band: int = 1,
) -> gpd.GeoDataFrame:
    """``zones`` with one column per statistic; zones without valid cells get NaN. Cells
    outside an area-limited caller's areas (``RasterSource.clip``) are not valid."""
    check_geometry_types("the zone layer", zones.geom_type.unique(), POLYGONAL)
    qs = _quantiles(percentiles)
    source = RasterSource.of(raster)
    with rasterio.open(source.path) as dataset:
        if band < 1 or band > dataset.count:
            raise InvalidParameter(f"band: {band} does not exist; the raster has {dataset.count}")
        zones_in_raster_crs = _to_raster_crs(zones, dataset)
        _check_overlap(zones_in_raster_crs, dataset)
        grid = Grid.of(dataset, band, source.area(dataset))
    geometries = zones_in_raster_crs.geometry.to_numpy()
    if grid.area is not None and not shapely.intersects(geometries, grid.area).any():
        raise source.nothing_inside("choose zones inside those areas")
    rows: list[list[float]] = [[]] * len(geometries)
    with ThreadPoolExecutor(len(groups := _groups(geometries))) as pool:
        # One dataset (and GDAL block cache) per thread; a group is a band of neighbouring
        # zones, so the blocks two zones share are mostly decompressed once.
        work = pool.map(lambda g: _group_rows(source.path, grid, geometries[g], qs), groups)
        for group, stats in zip(groups, work, strict=True):
            for i, row in zip(group, stats, strict=True):
                rows[i] = row
    result = zones.reset_index(drop=True).copy()
    names = [*STATISTICS, *(f"p{p:g}" for p in percentiles)]
    table = np.array(rows, dtype=np.float64).reshape(len(rows), len(names))
    for j, name in enumerate(names):
        result[name] = table[:, j]
    return result


def _groups(geometries: NDArray[np.object_]) -> list[NDArray[np.int64]]:
    """Zones in west-to-east order, cut into one run per thread of about equal area."""
    bounds = shapely.bounds(geometries)
    order = np.argsort(np.nan_to_num(bounds[:, 0] + bounds[:, 2]), kind="stable")
    areas = np.nan_to_num(shapely.area(geometries))[order]  # ~ cells to visit
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = max(1, min(cores or 1, 8, len(geometries)))
    share = np.cumsum(areas) / max(float(areas.sum()), 1e-300)
    cuts = np.searchsorted(share, np.arange(1, threads) / threads)
    return [g for g in np.split(order, cuts) if len(g)]


def _group_rows(
    raster: Path | str, grid: Grid, geometries: NDArray[np.object_], qs: list[float]
) -> list[list[float]]:
    with rasterio.open(raster) as dataset:
        return [zone_row(dataset, grid, g, qs) for g in geometries]


def _to_raster_crs(zones: gpd.GeoDataFrame, dataset: rasterio.DatasetReader) -> gpd.GeoDataFrame:
    if dataset.crs is None:
        raise InvalidParameter("the raster has no CRS; it cannot be matched to the zones")
    raster_crs = CRS.from_wkt(dataset.crs.to_wkt())
    # CGCS2000 and WGS 84 geographic agree to < 1 m (ADR 0002): no transformation needed.
    if raster_crs.is_geographic and zones.crs is not None and zones.crs.is_geographic:
        return zones.set_crs(raster_crs, allow_override=True)
    return zones.to_crs(raster_crs)


def _check_overlap(zones: gpd.GeoDataFrame, dataset: rasterio.DatasetReader) -> None:
    left, bottom, right, top = dataset.bounds
    if not zones.intersects(shapely.box(left, bottom, right, top)).any():
        raise InvalidParameter(
            "the zones do not overlap the raster (raster bounds "
            f"{left:.4f},{bottom:.4f},{right:.4f},{top:.4f}); choose a raster covering them"
        )


def as_table(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    return pd.DataFrame(frame.drop(columns="geometry"))
