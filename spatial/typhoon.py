"""Typhoon wind circles: quadrant radii along a forecast track, as CMA advisories give them.

A wind circle at a forecast point is four geodesic quarter discs (NE 0–90°, SE 90–180°,
SW 180–270°, NW 270–360° from north), each of its quadrant's radius, with vertices on the
ellipsoid at exactly that distance (``pyproj.Geod``). Between two forecast points the centre
and the radii are taken to move linearly: a quarter disc that moves and scales linearly sweeps
exactly the convex hull of its two end positions (the hull of two homothetic convex sets is
the union of their convex combinations), so the swept area of a level is the union of those
hulls — built in a local azimuthal equidistant plane of each leg — and the circles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

import geopandas as gpd
import numpy as np
import shapely

from spatial.geodesy import GEOD, STORAGE_CRS, local_aeqd, transform
from spatial.impact import polygonal_part

QUADRANTS = ("NE", "SE", "SW", "NW")  # clockwise from north, as CMA advisories list them
ARC_STEP_DEG = 0.5  # vertices every half degree: chords sag ≤ 1e-5 of the radius
HULL_SEGMENT_M = 1000.0  # hull edges are densified before leaving the local plane


@dataclass(frozen=True)
class TrackPoint:
    time: datetime
    lon: float
    lat: float
    # level -> NE, SE, SW, NW metres; every point of a track has every level (0: no such wind)
    radii_m: dict[str, tuple[float, float, float, float]]


def arc(lon: float, lat: float, radius_m: float, quadrant: int) -> list[tuple[float, float]]:
    """The geodesic arc of one quadrant (0 = NE … 3 = NW), clockwise; the centre when 0."""
    if radius_m <= 0:
        return [(lon, lat)]
    start = 90.0 * quadrant
    azimuths = np.linspace(start, start + 90.0, round(90 / ARC_STEP_DEG) + 1)
    n = len(azimuths)
    xs, ys, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), azimuths, np.full(n, radius_m))
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def quarter_disc(lon: float, lat: float, radius_m: float, quadrant: int) -> shapely.Geometry:
    """The geodesic quarter disc of one quadrant; a point when its radius is 0."""
    points = arc(lon, lat, radius_m, quadrant)
    return shapely.Polygon([(lon, lat), *points]) if len(points) > 1 else shapely.Point(lon, lat)


def wind_circle(point: TrackPoint, level: str) -> shapely.Geometry:
    """One ring through the four arcs, joined by radial steps where the radius changes: every
    vertex is on an arc (a union of quarter discs would add vertices where edges cross)."""
    radii = point.radii_m[level]
    if not any(radii):
        return shapely.Polygon()
    ring = [xy for q, r in enumerate(radii) for xy in arc(point.lon, point.lat, r, q)]
    circle = shapely.Polygon(ring)
    # (a quadrant of radius 0 passes the ring through the centre: valid unless two do)
    return polygonal_part(circle)


def swept_leg(a: TrackPoint, b: TrackPoint, level: str) -> shapely.Geometry:
    """The area a level's wind covers while the centre moves from ``a`` to ``b``."""
    local = local_aeqd((a.lon + b.lon) / 2, (a.lat + b.lat) / 2)
    hulls = []
    for q in range(len(QUADRANTS)):
        ends = [quarter_disc(p.lon, p.lat, p.radii_m[level][q], q) for p in (a, b)]
        planar = transform(np.array(ends, dtype=object), STORAGE_CRS, local)
        hull = shapely.segmentize(shapely.convex_hull(shapely.union_all(planar)), HULL_SEGMENT_M)
        hulls.append(hull)
    back = transform(np.array(hulls, dtype=object), local, STORAGE_CRS)
    return polygonal_part(shapely.union_all(back))


def levels_of(track: Sequence[TrackPoint]) -> list[str]:
    return sorted({level for p in track for level in p.radii_m}, key=int)


def wind_circles(track: Sequence[TrackPoint]) -> gpd.GeoDataFrame:
    """One row per forecast point and level: time, level, the four radii (km), the circle."""
    rows = []
    for point in track:
        for level in levels_of(track):
            radii = point.radii_m[level]
            circle = wind_circle(point, level)
            if circle.is_empty:
                continue
            row: dict[str, object] = {"time": point.time.isoformat(), "level": int(level)}
            row |= {
                f"radius_{q.lower()}_km": r / 1000 for q, r in zip(QUADRANTS, radii, strict=True)
            }
            rows.append(row | {"geometry": circle})
    columns = ["time", "level", *(f"radius_{q.lower()}_km" for q in QUADRANTS), "geometry"]
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=STORAGE_CRS)


def swept_areas(track: Sequence[TrackPoint]) -> gpd.GeoDataFrame:
    """One row per level: the area its winds reach along the whole track."""
    rows = []
    for level in levels_of(track):
        parts = [wind_circle(p, level) for p in track]
        parts += [swept_leg(a, b, level) for a, b in pairwise(track)]
        area = polygonal_part(shapely.union_all(parts))
        if not area.is_empty:
            times = [p.time.isoformat() for p in track if any(p.radii_m[level])]
            rows.append(
                {"level": int(level), "start": times[0], "end": times[-1], "geometry": area}
            )
    columns = ["level", "start", "end", "geometry"]
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=STORAGE_CRS)
