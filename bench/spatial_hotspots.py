"""Getis-Ord Gi* and kernel density (``spatial.hotspots``) against their usual peers.

Gi*: esda's ``G_Local(star=True, transform="B", permutations=0)`` on libpysal's binary
``DistanceBand`` over the points in the equal-area plane, as a user would call it; the
z-scores are compared with esda given OneMap's own (geodesic) neighbour pairs too, so the
formula is checked apart from the band. Kernel density: a scipy/numpy reference of the same
quartic kernel — every (cell centre, point) pair within the bandwidth from
``cKDTree.sparse_distance_matrix``, summed per cell. The points: clusters plus background
over Guangdong (fixed seed), nothing from a database.

    .venv/bin/python -m bench.spatial_hotspots [--points 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import scipy.sparse
import shapely
from esda.getisord import G_Local
from libpysal.weights import WSP, DistanceBand
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from bench.best_of import best_of, report
from spatial.geodesy import to_equal_area
from spatial.hotspots import band_pairs, gi_star, kernel_density
from spatial.results import Raster

DISTANCE_M, BANDWIDTH_M, CELL_M = 10_000.0, 5_000.0, 1_000.0


def points_and_values(n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Half the points in 12 clusters (high values), half spread over the province."""
    rng = np.random.default_rng(17)
    centres = np.column_stack([rng.uniform(110.5, 116.5, 12), rng.uniform(21.0, 25.0, 12)])
    near = centres[rng.integers(0, 12, n // 2)] + rng.normal(0, 0.15, (n // 2, 2))
    far = np.column_stack([rng.uniform(110, 117, n - n // 2), rng.uniform(20.5, 25.5, n - n // 2)])
    values = np.concatenate([rng.gamma(4, 25, n // 2), rng.gamma(2, 10, n - n // 2)])
    return np.vstack([near, far]), values


def esda_z(xy: NDArray[np.float64], values: NDArray[np.float64]) -> NDArray[np.float64]:
    w = DistanceBand(xy, threshold=DISTANCE_M, binary=True, silence_warnings=True)
    return np.asarray(G_Local(values, w, transform="B", star=True, permutations=0).Zs)


def esda_z_on_pairs(
    lonlat: NDArray[np.float64], values: NDArray[np.float64]
) -> NDArray[np.float64]:
    i, j = band_pairs(lonlat, DISTANCE_M)
    n = len(values)
    sparse = scipy.sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    w = WSP(sparse).to_W(silence_warnings=True)
    return np.asarray(G_Local(values, w, transform="B", star=True, permutations=0).Zs)


def quartic_reference(
    xy: NDArray[np.float64], weights: NDArray[np.float64], grid: Raster
) -> NDArray[np.float64]:
    """Σ wᵢ 3/π (1 − d²/h²)² / h² per km² at every cell centre of ``grid``."""
    height, width = grid.data.shape
    t = grid.transform
    cx = t.c + (np.arange(width) + 0.5) * t.a
    cy = t.f + (np.arange(height) + 0.5) * t.e
    centres = np.column_stack([np.tile(cx, height), np.repeat(cy, width)])
    pairs = cKDTree(xy).sparse_distance_matrix(
        cKDTree(centres), BANDWIDTH_M, output_type="coo_matrix"
    )
    u2 = (pairs.data / BANDWIDTH_M) ** 2
    kernel = np.where(u2 < 1, weights[pairs.row] * 3 / math.pi * (1 - u2) ** 2, 0.0)
    density = np.bincount(pairs.col, weights=kernel, minlength=len(centres))
    return density.reshape(height, width) / (BANDWIDTH_M / 1000) ** 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    lonlat, values = points_and_values(args.points)
    points = shapely.points(lonlat)
    xy = shapely.get_coordinates(to_equal_area(points))

    ours_s, (z, _) = best_of(args.runs, lambda: gi_star(lonlat, values, DISTANCE_M))
    peer_s, peer_z = best_of(args.runs, lambda: esda_z(xy, values))
    same_pairs = esda_z_on_pairs(lonlat, values)
    neighbours = len(band_pairs(lonlat, DISTANCE_M)[0]) / args.points
    report(
        f"Gi* of {args.points:,} points, {DISTANCE_M / 1000:g} km band "
        f"({neighbours:.1f} neighbours each)",
        ours_s,
        peer_s,
        "esda (DistanceBand + G_Local)",
        f"max |Δz| {np.abs(z - peer_z).max():.1e} (planar band), "
        f"{np.abs(z - same_pairs).max():.1e} (same pairs)",
    )

    weights = np.ones(args.points)
    ours_s, density = best_of(
        args.runs, lambda: kernel_density(points, weights, BANDWIDTH_M, CELL_M)
    )
    peer_s, reference = best_of(args.runs, lambda: quartic_reference(xy, weights, density))
    diff = np.abs(density.data - reference).max()
    report(
        f"kernel density of {args.points:,} points, {BANDWIDTH_M / 1000:g} km, "
        f"{density.data.shape[1]} × {density.data.shape[0]} cells of {CELL_M:g} m",
        ours_s,
        peer_s,
        "scipy cKDTree + numpy",
        f"max |Δ| {diff:.1e} per km² (peak {density.data.max():.2f})",
    )


if __name__ == "__main__":
    main()
