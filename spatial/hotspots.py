"""Kernel density surfaces and Getis-Ord Gi* hot spots.

Density is the quartic (biweight) kernel of Silverman (1986, eq. 4.5), per km², on the
equal-area grid: the grid's metres are true to within 0.3 % across Guangdong, a bandwidth is
taken in them. Gi* uses binary weights within a geodesic distance band, the feature itself
included, and the analytic z-score of Getis & Ord (1992; Ord & Getis 1995): under
randomisation it is asymptotically standard normal, so p is two-sided normal (no
permutations, nothing random).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import shapely
from affine import Affine
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from scipy.stats import norm

from layers.errors import InvalidParameter
from spatial.geodesy import EQUAL_AREA_CRS, GEOD, from_equal_area, to_equal_area
from spatial.interpolation import cell_grid as metric_grid
from spatial.results import Raster

Floats = NDArray[np.float64]
Checkpoint = Callable[[], None]
MAX_BAND_PAIRS = 5_000_000  # neighbour pairs of one Gi* run (memory ~ 100 MB)
SCALE_SLACK = 1.005  # the equal-area plane's distances are within 0.3 % of geodesic ones


def _grid(xy: Floats, pad_m: float, cell_m: float) -> tuple[Affine, int, int]:
    """The metric grid over the points and ``pad_m`` around them (interpolation's bound)."""
    (left, bottom), (right, top) = xy.min(axis=0) - pad_m, xy.max(axis=0) + pad_m
    return metric_grid((left, bottom, right, top), cell_m)


WINDOW_CELLS = 4_000_000  # kernel cells computed at once (points × window): ~100 MB of floats


def kernel_density(
    points: NDArray[np.object_],
    weights: Floats,
    bandwidth_m: float,
    cell_m: float,
    checkpoint: Checkpoint | None = None,
) -> Raster:
    """Σ wᵢ K(dᵢ/h) / h² at every cell centre, K(u) = 3/π (1 − u²)² for u < 1: per km²."""
    xy = shapely.get_coordinates(to_equal_area(points))
    transform, width, height = _grid(xy, bandwidth_m, cell_m)
    reach = math.ceil(bandwidth_m / cell_m)
    offsets = np.arange(-reach, reach + 1)  # each point's window of cells around its own
    cols, rows = ~transform * (xy[:, 0], xy[:, 1])
    home_c, home_r = np.asarray(cols).astype(np.int64), np.asarray(rows).astype(np.int64)
    w = np.asarray(weights, dtype=np.float64)
    density = np.zeros(height * width)
    per_chunk = max(1, WINDOW_CELLS // len(offsets) ** 2)
    for start in range(0, len(xy), per_chunk):
        if checkpoint is not None:
            checkpoint()
        part = slice(start, start + per_chunk)
        c = home_c[part, None, None] + offsets[None, None, :]
        r = home_r[part, None, None] + offsets[None, :, None]
        dx = transform.c + (c + 0.5) * cell_m - xy[part, 0, None, None]
        dy = transform.f - (r + 0.5) * cell_m - xy[part, 1, None, None]
        u2 = (dx**2 + dy**2) / bandwidth_m**2
        inside = (u2 < 1) & (c >= 0) & (c < width) & (r >= 0) & (r < height)
        kernel = w[part, None, None] * 3 / math.pi * (1 - u2) ** 2
        cells = (r * width + c)[inside]
        density += np.bincount(cells, weights=kernel[inside], minlength=height * width)
    per_km2 = density.reshape(height, width) / (bandwidth_m / 1000) ** 2
    return Raster(data=per_km2, transform=transform, crs=EQUAL_AREA_CRS)


def band_pairs(lonlat: Floats, distance_m: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """All ordered pairs (i, j), i ≠ j, within ``distance_m`` of each other on the ellipsoid."""
    points = shapely.points(lonlat)
    xy = shapely.get_coordinates(to_equal_area(points))
    tree = cKDTree(xy)
    if tree.count_neighbors(tree, distance_m * SCALE_SLACK) > MAX_BAND_PAIRS:
        raise InvalidParameter(
            f"distance_m: {distance_m:,.0f} m makes more than {MAX_BAND_PAIRS:,} neighbour "
            "pairs; use a shorter distance band"
        )
    candidates = tree.query_pairs(distance_m * SCALE_SLACK, output_type="ndarray")
    i, j = candidates[:, 0], candidates[:, 1]
    _, _, metres = GEOD.inv(lonlat[i, 0], lonlat[i, 1], lonlat[j, 0], lonlat[j, 1])
    near = np.asarray(metres) <= distance_m
    i, j = i[near], j[near]
    return np.concatenate([i, j]), np.concatenate([j, i])


def gi_star(lonlat: Floats, values: Floats, distance_m: float) -> tuple[Floats, Floats]:
    """Gi* z-scores and two-sided p-values; weights 1 within the band (self included)."""
    n = len(values)
    if n < 3:
        raise InvalidParameter(f"Gi* needs at least 3 features with values, got {n}")
    i, j = band_pairs(lonlat, distance_m)
    x = values.astype(np.float64)
    mean, spread = x.mean(), math.sqrt(float((x**2).mean() - x.mean() ** 2))
    if spread == 0:
        raise InvalidParameter("the values are all equal; Gi* has nothing to compare")
    sum_wx = x + np.bincount(i, weights=x[j], minlength=n)  # self-weight 1
    sum_w = 1.0 + np.bincount(i, minlength=n)  # binary weights: Σw = Σw² = neighbours + 1
    denominator = spread * np.sqrt((n * sum_w - sum_w**2) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(denominator > 0, (sum_wx - mean * sum_w) / denominator, 0.0)
    return z, 2 * norm.sf(np.abs(z))


def hot_cold(z: Floats, p: Floats) -> NDArray[np.str_]:
    """The usual labels: 'hot 99' … 'cold 90' by confidence, else 'not significant'."""
    labels = np.full(len(z), "not significant", dtype=object)
    for level, alpha in ((90, 0.10), (95, 0.05), (99, 0.01)):
        labels[(p <= alpha) & (z > 0)] = f"hot {level}"
        labels[(p <= alpha) & (z < 0)] = f"cold {level}"
    return labels.astype(str)


def grid_counts(
    points: NDArray[np.object_], weights: Floats, cell_m: float
) -> tuple[NDArray[np.object_], Floats]:
    """Square equal-area cells over the points (lon/lat polygons) and the weight in each."""
    xy = shapely.get_coordinates(to_equal_area(points))
    transform, width, height = _grid(xy, cell_m / 2, cell_m)
    col = np.clip(((xy[:, 0] - transform.c) // cell_m).astype(np.int64), 0, width - 1)
    row = np.clip(((transform.f - xy[:, 1]) // cell_m).astype(np.int64), 0, height - 1)
    sums = np.bincount(row * width + col, weights=weights, minlength=width * height).astype(
        np.float64
    )
    r, c = np.divmod(np.arange(width * height), width)
    x0, y0 = transform.c + c * cell_m, transform.f - (r + 1) * cell_m
    cells = shapely.box(x0, y0, x0 + cell_m, y0 + cell_m)
    return from_equal_area(cells), sums
