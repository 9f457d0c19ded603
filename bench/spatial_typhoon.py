"""Typhoon wind circles and swept areas (``spatial.typhoon``) against the by-hand way: the
track interpolated every ``--step-min`` minutes, at each position four quarter discs buffered in
a local azimuthal equidistant plane (shapely buffer clipped to the quadrant) and everything
unioned per level. A Mangkhut-like track of 9 forecast points 6 h apart over the South China
Sea to western Guangdong, 7/10/12-level quadrant radii shrinking after landfall (fixed). The
check is each level's geodesic area (``pyproj.Geod``): the hand way's union of discrete
circles falls slightly short of the exact swept hull between its steps.

    .venv/bin/python -m bench.spatial_typhoon [--runs 3] [--step-min 10]
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import numpy as np
import shapely

from bench.best_of import best_of, report
from spatial.geodesy import GEOD, STORAGE_CRS, local_aeqd, transform
from spatial.typhoon import QUADRANTS, TrackPoint, swept_areas

START = datetime(2018, 9, 15, 0, tzinfo=UTC)
CENTRES = [(120.8, 18.6), (119.3, 19.4), (117.9, 20.2), (116.4, 20.9), (115.0, 21.5),
           (113.6, 21.9), (112.3, 22.3), (111.0, 22.8), (109.8, 23.3)]  # fmt: skip
# km per quadrant (NE, SE, SW, NW) at the first point; each later point 0.93 of the last
RADII_KM = {"7": (500, 450, 380, 420), "10": (240, 220, 180, 200), "12": (120, 110, 90, 100)}


def track() -> list[TrackPoint]:
    points = []
    for i, (lon, lat) in enumerate(CENTRES):
        shrink = 0.93**i
        radii = {
            level: tuple(1000.0 * r * shrink for r in quadrants)
            for level, quadrants in RADII_KM.items()
        }
        when = START + timedelta(hours=6 * i)
        points.append(TrackPoint(when, lon, lat, radii))  # type: ignore[arg-type]
    return points


def by_hand(points: list[TrackPoint], step_min: int) -> dict[str, shapely.Geometry]:
    """Union of quarter-disc buffers at interpolated positions, each in its own local plane."""
    steps = 6 * 60 // step_min
    areas: dict[str, list[shapely.Geometry]] = {level: [] for level in RADII_KM}
    for a, b in pairwise(points):
        for k in range(steps + (1 if b is points[-1] else 0)):
            t = k / steps
            lon, lat = a.lon + t * (b.lon - a.lon), a.lat + t * (b.lat - a.lat)
            local = local_aeqd(lon, lat)
            for level in RADII_KM:
                radii = [
                    ra + t * (rb - ra)
                    for ra, rb in zip(a.radii_m[level], b.radii_m[level], strict=True)
                ]
                disc = shapely.union_all([_quarter(r, q) for q, r in enumerate(radii)])
                areas[level].append(
                    transform(np.array([disc], dtype=object), local, STORAGE_CRS)[0]
                )
    return {level: shapely.union_all(parts) for level, parts in areas.items()}


def _quarter(radius_m: float, quadrant: int) -> shapely.Geometry:
    """A quarter disc at the local plane's origin: quadrant 0 = NE (x east, y north)."""
    sx, sy = [(1, 1), (1, -1), (-1, -1), (-1, 1)][quadrant]
    box = shapely.box(0, 0, sx * 2 * radius_m, sy * 2 * radius_m)
    return shapely.Point(0, 0).buffer(radius_m, quad_segs=90).intersection(box)


def geodesic_km2(geometry: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geometry)[0]) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--step-min", type=int, default=10)
    args = parser.parse_args()
    points = track()
    ours_s, ours = best_of(args.runs, lambda: swept_areas(points))
    peer_s, peer = best_of(args.runs, lambda: by_hand(points, args.step_min))
    agreement = []
    for row in ours.itertuples():
        exact, hand = geodesic_km2(row.geometry), geodesic_km2(peer[str(row.level)])
        agreement.append(
            f"level {row.level}: {exact:,.0f} km² vs {hand:,.0f} ({hand / exact - 1:+.2%})"
        )
    report(
        f"swept wind areas, {len(points)} forecast points × {len(QUADRANTS)} quadrants × 3 levels",
        ours_s,
        peer_s,
        f"quarter-disc buffers every {args.step_min} min",
        "; ".join(agreement),
    )


if __name__ == "__main__":
    main()
