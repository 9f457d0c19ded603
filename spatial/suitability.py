"""Weighted-overlay suitability and the top-N candidate areas.

Each criterion is scored 0..1 on the DEM's metric grid (gentle slope is good, near a road is
good), the scores are combined with normalised weights, exclusion zones are set to 0, and
connected areas of the best cells are ranked by their mean score.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from rasterio import features as rio_features
from scipy import ndimage

from layers.errors import InvalidParameter
from spatial.geodesy import STORAGE_CRS, transform
from spatial.results import Raster
from spatial.terrain import slope_aspect


def linear_score(values: NDArray[np.float64], worst: float) -> NDArray[np.float64]:
    """1 at 0, falling linearly to 0 at ``worst`` and beyond."""
    score: NDArray[np.float64] = np.clip(1.0 - values / worst, 0.0, 1.0)
    return score


def _rasterize(geoms: gpd.GeoSeries, dem: Raster) -> NDArray[np.bool_]:
    projected = transform(geoms.values._data, STORAGE_CRS, dem.crs)
    projected = projected[~shapely.is_empty(projected)]
    if len(projected) == 0:
        return np.zeros(dem.shape, dtype=bool)
    burned = rio_features.rasterize(
        ((g, 1) for g in projected),
        out_shape=dem.shape,
        transform=dem.transform,
        all_touched=True,
        dtype="uint8",
    )
    mask: NDArray[np.bool_] = burned.astype(bool)
    return mask


def distance_to_m(geoms: gpd.GeoSeries, dem: Raster) -> NDArray[np.float64]:
    """Metres from each cell centre to the nearest cell a geometry touches."""
    present = _rasterize(geoms, dem)
    if not present.any():
        raise InvalidParameter("roads: no road lies on the DEM grid; choose roads inside the DEM")
    sampling = (abs(dem.transform.e), abs(dem.transform.a))
    distances: NDArray[np.float64] = ndimage.distance_transform_edt(~present, sampling=sampling)
    return distances


def suitability(
    dem: Raster,
    roads: gpd.GeoSeries,
    exclusions: gpd.GeoSeries | None = None,
    *,
    slope_weight: float = 0.5,
    road_weight: float = 0.5,
    max_slope_deg: float = 25.0,
    max_road_distance_m: float = 10_000.0,
) -> Raster:
    """The suitability raster (0..1, NaN outside the DEM) on the DEM's metric grid."""
    if slope_weight < 0 or road_weight < 0 or slope_weight + road_weight == 0:
        raise InvalidParameter("weights must be non-negative and not both 0")
    if max_slope_deg <= 0 or max_road_distance_m <= 0:
        raise InvalidParameter("max_slope_deg and max_road_distance_m must be positive")
    slope, _ = slope_aspect(dem)
    total = slope_weight + road_weight
    score = (
        slope_weight * linear_score(slope.data.astype(np.float64), max_slope_deg)
        + road_weight * linear_score(distance_to_m(roads, dem), max_road_distance_m)
    ) / total
    if exclusions is not None and len(exclusions):
        score = np.where(_rasterize(exclusions, dem), 0.0, score)
    score = np.where(np.isnan(dem.data), np.nan, score)
    return Raster(data=score, transform=dem.transform, crs=dem.crs)


def top_candidates(
    score: Raster, n: int = 5, best_share: float = 0.1, min_area_km2: float = 0.0
) -> gpd.GeoDataFrame:
    """The ``n`` connected areas of the best ``best_share`` of cells, best mean score first."""
    if not 0 < best_share <= 1:
        raise InvalidParameter("best_share must lie in (0, 1]")
    valid = np.isfinite(score.data)
    if not valid.any():
        raise InvalidParameter("the suitability raster has no valid cells")
    cutoff = float(np.quantile(score.data[valid], 1 - best_share))
    labels, count = ndimage.label(valid & (score.data >= cutoff))
    index = np.arange(1, count + 1)
    cell_km2 = abs(score.transform.a * score.transform.e) / 1e6
    means = ndimage.mean(np.nan_to_num(score.data), labels, index)
    areas = ndimage.sum(np.ones_like(score.data), labels, index) * cell_km2
    order = [i for i in np.lexsort((-areas, -means)) if areas[i] >= min_area_km2][:n]
    rows = []
    for rank, i in enumerate(order, start=1):
        shapes = rio_features.shapes(
            labels.astype("int32"), mask=labels == index[i], transform=score.transform
        )
        geom = shapely.union_all([shapely.geometry.shape(g) for g, _ in shapes])
        rows.append(
            {
                "rank": rank,
                "mean_score": float(means[i]),
                "area_km2": float(areas[i]),
                "geometry": geom,
            }
        )
    if not rows:
        return gpd.GeoDataFrame(
            {"rank": [], "mean_score": [], "area_km2": []}, geometry=[], crs=STORAGE_CRS
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=score.crs)
    frame["geometry"] = transform(frame.geometry.values._data, score.crs, STORAGE_CRS)
    return frame.set_crs(STORAGE_CRS, allow_override=True)
