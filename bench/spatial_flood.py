"""Connected flood inundation (``spatial.flood.inundation``: cells below the level joined to a
seed by edge neighbours) against ``scipy.ndimage.label`` of the below-level mask, keeping the
labels that hold a seed — the by-hand way. A generated metric DEM (smooth hills, a valley
draining to the sea on the west edge, closed basins behind ridges; fixed seed); the check is
that the two flooded masks are the same cells.

    .venv/bin/python -m bench.spatial_flood [--size 6000] [--runs 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import shapely
from affine import Affine
from numpy.typing import NDArray
from scipy import ndimage

from bench.best_of import best_of, report
from spatial.flood import EDGE_NEIGHBOURS, inundation, seed_cells
from spatial.geodesy import EQUAL_AREA_CRS, from_equal_area
from spatial.results import Raster

LEVEL_M = 12.0


def dem(size: int) -> Raster:
    rng = np.random.default_rng(3)
    noise = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), size / 60)
    x = np.linspace(0, 1, size)[None, :]
    ground = 40 * x + 400 * noise / noise.std() * 0.1 + 5
    transform = Affine(30.0, 0, 0, 0, -30.0, 0)
    return Raster(data=ground, transform=transform, crs=EQUAL_AREA_CRS)


def by_label(raster: Raster, seeds: list[tuple[int, int]]) -> NDArray[np.bool_]:
    labels, _ = ndimage.label(raster.data < LEVEL_M, structure=EDGE_NEIGHBOURS)
    wanted = {labels[r, c] for r, c in seeds} - {0}
    return np.isin(labels, list(wanted))


def from_plane(x: float, y: float) -> tuple[float, float]:
    """Lon/lat of a point of the equal-area plane (seeds are given in lon/lat)."""
    point = from_equal_area(np.array([shapely.Point(x, y)], dtype=object))[0]
    return point.x, point.y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    raster = dem(args.size)
    low = np.unravel_index(np.argmin(raster.data[:, 0]), raster.data.shape)
    x, y = raster.transform * (0.5, low[0] + 0.5)
    seeds_xy = [from_plane(x, y)]
    seeds = seed_cells(raster, seeds_xy)
    ours_s, flooded = best_of(args.runs, lambda: inundation(raster, LEVEL_M, seeds_xy))
    peer_s, peer = best_of(args.runs, lambda: by_label(raster, seeds))
    below = int((raster.data < LEVEL_M).sum())
    report(
        f"inundation at {LEVEL_M:g} m, {args.size:,} × {args.size:,} DEM",
        ours_s,
        peer_s,
        "ndimage.label",
        f"{int(flooded.sum()):,} of {below:,} below-level cells flooded; "
        f"cells differing {int((flooded != peer).sum())}",
    )


if __name__ == "__main__":
    main()
