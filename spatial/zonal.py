"""Zonal statistics of a raster per polygon, weighting each cell by its exact covered fraction.

The coverage fractions come from exactextract (the same algorithm as the R/GDAL tool): a
cell half inside a county counts half towards that county's mean, std, percentiles and
valid-cell count. Rasters are read block by block, so the raster size is not bounded by RAM.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import rasterio
import shapely
from exactextract import exact_extract  # type: ignore[import-untyped]
from pyproj import CRS

from layers.errors import InvalidParameter
from spatial.errors import POLYGONAL, check_geometry_types

BASE_STATS = ("count", "min", "max", "mean", "stdev", "sum")


def _ops(percentiles: Sequence[float]) -> list[str]:
    for p in percentiles:
        if not 0 <= p <= 100:
            raise InvalidParameter(f"percentile {p} is outside 0..100")
    return [*BASE_STATS, *(f"quantile(q={p / 100:g})" for p in percentiles)]


def _column_names(percentiles: Sequence[float]) -> list[str]:
    names = {"stdev": "std", "count": "valid_count"}
    return [*(names.get(s, s) for s in BASE_STATS), *(f"p{p:g}" for p in percentiles)]


def zonal_statistics(
    raster: Path | str,
    zones: gpd.GeoDataFrame,
    percentiles: Sequence[float] = (10, 50, 90),
    band: int = 1,
) -> gpd.GeoDataFrame:
    """``zones`` with one column per statistic; zones without valid cells get NaN."""
    check_geometry_types("the zone layer", zones.geom_type.unique(), POLYGONAL)
    ops = _ops(percentiles)
    with rasterio.open(raster) as dataset:
        if band < 1 or band > dataset.count:
            raise InvalidParameter(f"band {band} does not exist; the raster has {dataset.count}")
        zones_in_raster_crs = _to_raster_crs(zones, dataset)
        _check_overlap(zones_in_raster_crs, dataset)
        source = dataset if dataset.count == 1 else rasterio.band(dataset, band)
        stats = exact_extract(source, zones_in_raster_crs, ops, output="pandas")
    stats.columns = _column_names(percentiles)
    result = zones.reset_index(drop=True).copy()
    for column in stats.columns:
        result[column] = stats[column].to_numpy()
    return result


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
