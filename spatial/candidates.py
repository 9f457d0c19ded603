"""The top-N candidate sites of a suitability raster, each of a size the caller bounds.

Candidates are connected areas of the best ``best_share`` of the usable cells. An area larger
than ``max_area_km2`` is split along square blocks of the grid no larger than that, each
connected part of a block a candidate of its own. A candidate's polygon is its cells clipped
to the allowed area (study area less exclusions), so it lies on land and outside every
exclusion zone; its area is measured on that polygon, and the bounds hold for it.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from rasterio import features as rio_features
from scipy import ndimage

from layers.errors import InvalidParameter
from spatial.geodesy import STORAGE_CRS, transform
from spatial.results import Raster
from spatial.suitability import HALF, SiteMask

Labels = NDArray[np.int32]


def top_candidates(
    score: Raster,
    mask: SiteMask,
    n: int = 5,
    best_share: float = 0.1,
    area_km2: tuple[float, float] = (0.0, math.inf),
) -> gpd.GeoDataFrame:
    """The ``n`` best areas (mean score, then size) whose area lies within ``area_km2``."""
    if not 0 < best_share <= 1:
        raise InvalidParameter("best_share must lie in (0, 1]")
    usable = np.isfinite(score.data) & (mask.usable >= HALF)
    if not usable.any():
        raise InvalidParameter("dem: it has no value on any usable cell of the study area")
    cutoff = float(np.quantile(score.data[usable], 1 - best_share))
    labels, count = _split(usable & (score.data >= cutoff), score, area_km2[1])
    index = np.arange(1, count + 1)
    cells = np.asarray(ndimage.sum(np.ones_like(score.data), labels, index))
    sums = np.asarray(ndimage.sum(np.nan_to_num(score.data), labels, index))
    means = np.divide(sums, cells, out=np.zeros_like(sums), where=cells > 0)
    cell_km2 = abs(score.transform.a * score.transform.e) / 1e6
    rows: list[dict[str, object]] = []
    for i in np.lexsort((-cells, -means)):
        if cells[i] == 0 or cells[i] * cell_km2 < area_km2[0]:  # clipping only shrinks
            continue
        geom = _polygon(labels == index[i], score, mask.allowed)
        km2 = float(geom.area) / 1e6
        if km2 > 0 and area_km2[0] <= km2 <= area_km2[1]:
            rows.append({"rank": len(rows) + 1, "mean_score": float(means[i]), "area_km2": km2})
            rows[-1]["geometry"] = geom
        if len(rows) == n:
            break
    if not rows:
        return gpd.GeoDataFrame(
            {"rank": [], "mean_score": [], "area_km2": []}, geometry=[], crs=STORAGE_CRS
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=score.crs)
    frame["geometry"] = transform(frame.geometry.values._data, score.crs, STORAGE_CRS)
    return frame.set_crs(STORAGE_CRS, allow_override=True)


def _split(best: NDArray[np.bool_], score: Raster, max_km2: float) -> tuple[Labels, int]:
    """Connected areas of ``best``; those above ``max_km2`` cut into blocks' parts."""
    labels, count = ndimage.label(best)
    cell_km2 = abs(score.transform.a * score.transform.e) / 1e6
    if math.isinf(max_km2):
        return labels.astype(np.int32), int(count)
    side = math.isqrt(int(max_km2 / cell_km2)) if max_km2 >= cell_km2 else 0
    if side == 0:
        cell_m = math.sqrt(cell_km2) * 1000
        raise InvalidParameter(
            f"max_area_km2: {max_km2:g} km² is less than one {cell_km2:g} km² cell; give a "
            f"larger max_area_km2 or a cell_m below {cell_m:.0f}"
        )
    sizes = np.bincount(labels.ravel(), minlength=count + 1) * cell_km2
    oversized = (sizes > max_km2)[labels] & best
    out = np.where(oversized, 0, labels).astype(np.int32)
    rows, cols = np.nonzero(oversized)
    for top, left in {
        (r // side * side, c // side * side) for r, c in zip(rows, cols, strict=True)
    }:
        block = (slice(top, top + side), slice(left, left + side))
        parts, found = ndimage.label(oversized[block])
        out[block] = np.where(parts > 0, parts + count, out[block])
        count += found
    return out, int(count)


def _polygon(
    cells: NDArray[np.bool_], score: Raster, allowed: shapely.Geometry
) -> shapely.Geometry:
    """The cells as one polygon in the grid's CRS, clipped to the allowed area."""
    shapes = rio_features.shapes(cells.astype("uint8"), mask=cells, transform=score.transform)
    union = shapely.union_all([shapely.geometry.shape(g) for g, _ in shapes])
    return shapely.intersection(union, allowed)
