"""Coordinate systems for measuring: equal-area for areas, azimuthal equidistant for distances.

Layers are stored in CGCS2000 geographic (EPSG:4490, docs/adr/0002). Degrees are never
measured directly: areas go through an Albers equal-area projection on the CGCS2000
ellipsoid (area is preserved exactly by construction, so only edge interpretation differs
from the geodesic area), and distances and buffers through an azimuthal equidistant
projection centred on the object (exact radially from the centre).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import shapely
import shapely.ops
from numpy.typing import NDArray
from pyproj import CRS, Geod, Transformer

from layers.platform import STORAGE_SRID

Checkpoint = Callable[[], None]  # called between steps; raises to stop (a dismissed job)
STORAGE_CRS = CRS.from_epsg(STORAGE_SRID)
# Standard parallels bracket Guangdong (20.2°N–25.5°N); area is exact anywhere, shape best here.
EQUAL_AREA_CRS = CRS.from_proj4(
    "+proj=aea +lat_0=0 +lon_0=113.5 +lat_1=21 +lat_2=25 +ellps=GRS80 +units=m +no_defs"
)
GEOD = Geod(ellps="GRS80")  # the CGCS2000 ellipsoid differs from GRS80 by 0.1 mm in b
MAX_BUFFER_M = 500_000.0  # larger than the province; anything bigger is a unit mistake


@lru_cache(maxsize=64)
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(
        CRS.from_user_input(source), CRS.from_user_input(target), always_xy=True
    )


def transform(
    geoms: NDArray[np.object_], source: CRS | str, target: CRS | str
) -> NDArray[np.object_]:
    """Reproject an array of shapely geometries (x = longitude for geographic CRSs)."""
    src = source.to_wkt() if isinstance(source, CRS) else source
    dst = target.to_wkt() if isinstance(target, CRS) else target
    if src == dst:
        return geoms
    tr = _transformer(src, dst)

    def apply(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    result: NDArray[np.object_] = shapely.transform(geoms, apply)
    return result


def to_equal_area(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    return transform(geoms, STORAGE_CRS, EQUAL_AREA_CRS)


def from_equal_area(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    return transform(geoms, EQUAL_AREA_CRS, STORAGE_CRS)


def area_km2(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    """Areas in km² of geometries in the storage CRS, via the equal-area projection."""
    areas: NDArray[np.float64] = shapely.area(to_equal_area(geoms)) / 1e6
    return areas


def geodesic_area_km2(geom: shapely.Geometry) -> float:
    """The ellipsoidal area (geodesic edges) — the reference the tests hold us to."""
    return float(geodesic_areas_m2(np.array([geom], dtype=object))[0]) / 1e6


def geodesic_areas_m2(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    """Ellipsoidal areas in m² of geometries in the storage CRS (the 国土调查 椭球面积 rule:
    areas on the CGCS2000 ellipsoid, not in any map projection); lines and points are 0.

    Ring by ring (pyproj's ``Geod.geometry_area_perimeter`` without its per-geometry
    coordinate copies): exteriors counter-clockwise add, holes (clockwise) subtract.
    """
    parts, owner = shapely.get_parts(shapely.orient_polygons(geoms), return_index=True)
    polygons = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    rings, ring_part = shapely.get_rings(parts[polygons], return_index=True)
    coords = shapely.get_coordinates(rings)
    sizes = shapely.get_num_coordinates(rings)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    areas = np.zeros(len(geoms), dtype=np.float64)
    ring_owner = owner[polygons][ring_part]
    for ring, (start, end) in enumerate(zip(starts, ends, strict=True)):
        area, _ = GEOD.polygon_area_perimeter(coords[start:end, 0], coords[start:end, 1])
        areas[ring_owner[ring]] += area
    return np.abs(areas)


def aeqd_proj(lon: float, lat: float) -> str:
    """The PROJ string of ``local_aeqd`` (PostGIS's ST_Transform takes it as it is)."""
    return f"+proj=aeqd +lat_0={lat:.9f} +lon_0={lon:.9f} +ellps=GRS80 +units=m +no_defs"


def local_aeqd(lon: float, lat: float) -> CRS:
    """An azimuthal equidistant CRS centred on (lon, lat): distances from it are exact."""
    return CRS.from_proj4(aeqd_proj(lon, lat))


BUFFER_QUAD_SEGS = 64
EARTH_RADIUS_M = 6_371_000.0


def circumscribed_radius(
    radius_m: float, reach_m: float, quad_segs: int = BUFFER_QUAD_SEGS
) -> float:
    """The polygon radius whose buffer contains every point within ``radius_m``.

    A buffer's arcs are chords (vertices on the circle), so the radius grows by
    1/cos(half the chord angle); an azimuthal equidistant plane stretches distances not
    through its centre by at most about (reach/R)²/6 (``reach_m``: the farthest point from
    the centre), which is added twice over.
    """
    chord = 1 / math.cos(math.pi / (4 * quad_segs))
    stretch = 1 + (reach_m / EARTH_RADIUS_M) ** 2 / 3
    return radius_m * chord * stretch


def geodesic_buffer(
    geoms: NDArray[np.object_],
    radius_m: float,
    progress: Checkpoint | None = None,
    quad_segs: int = BUFFER_QUAD_SEGS,
) -> NDArray[np.object_]:
    """Buffer each geometry by ``radius_m`` metres on the ellipsoid, circumscribed.

    Every point within ``radius_m`` of a geometry is inside its buffer (a legal distance
    must never leave one out); the polygon reaches out by at most about 1e-4 of the radius
    beyond it. Whether a feature is within the distance is decided by
    ``within_distance``, not by this polygon.
    """
    out = np.empty(len(geoms), dtype=object)
    for i, geom in enumerate(geoms):
        if progress is not None:
            progress()
        if geom.geom_type == "Point":  # a geodesic circle directly: no projection to build
            out[i] = geodesic_circle(geom.x, geom.y, circumscribed_radius(radius_m, radius_m))
            continue
        centre = geom.centroid
        local = local_aeqd(centre.x, centre.y)
        projected = transform(np.array([geom], dtype=object), STORAGE_CRS, local)
        reach = float(shapely.hausdorff_distance(shapely.Point(0.0, 0.0), projected[0])) + radius_m
        grown = circumscribed_radius(radius_m, reach, quad_segs)
        out[i] = transform(_buffer_parts(projected[0], grown, quad_segs), local, STORAGE_CRS)[0]
    return out


def _buffer_parts(geom: shapely.Geometry, radius: float, quad_segs: int) -> NDArray[np.object_]:
    """The planar buffer of a geometry, part by part and the buffers unioned: GEOS buffers a
    multi-part mesh (a network's reached roads) as one geometry some 20× slower, for the same
    area (bench/spatial_isochrones.py: 8.1 s against 0.38 s for 3,184 street pieces)."""
    parts = shapely.get_parts(geom)
    if len(parts) <= 1:  # one part (or none): as it is
        return np.asarray(shapely.buffer(np.array([geom]), radius, quad_segs=quad_segs))
    return np.array([shapely.union_all(shapely.buffer(parts, radius, quad_segs=quad_segs))])


CIRCLE_AZIMUTHS = np.linspace(0.0, 360.0, 4 * BUFFER_QUAD_SEGS, endpoint=False)


def geodesic_circle(lon: float, lat: float, radius_m: float) -> shapely.Polygon:
    """The polygon through the points ``radius_m`` away on the ellipsoid, every 360/256°."""
    n = len(CIRCLE_AZIMUTHS)
    xs, ys, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), CIRCLE_AZIMUTHS, np.full(n, radius_m))
    return shapely.Polygon(np.column_stack([xs, ys]))


def geodesic_distance_m(site: shapely.Geometry, geom: shapely.Geometry) -> float:
    """Ellipsoidal distance in metres between two geometries (exact when ``site`` is a point).

    The nearest point of ``site`` is found in an azimuthal equidistant plane, which is then
    re-centred on it, where distances from the centre are exact.
    """
    if site.intersects(geom):
        return 0.0
    centre = site if site.geom_type == "Point" else site.centroid
    distance = math.inf
    for _ in range(3):
        local = local_aeqd(centre.x, centre.y)
        pair = transform(np.array([site, geom], dtype=object), STORAGE_CRS, local)
        distance = float(shapely.distance(shapely.Point(0.0, 0.0), pair[1]))
        if site.geom_type == "Point":
            break
        near, _ = shapely.ops.nearest_points(pair[0], pair[1])
        centre = transform(np.array([near], dtype=object), local, STORAGE_CRS)[0]
    return distance


def within_distance(
    site: shapely.Geometry,
    geoms: NDArray[np.object_],
    distance_m: float,
    progress: Checkpoint | None = None,
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Which ``geoms`` lie within ``distance_m`` of ``site`` (geodesic test), and how far."""
    distances = np.empty(len(geoms), dtype=np.float64)
    for i, geom in enumerate(geoms):
        if progress is not None and i % 256 == 0:
            progress()
        distances[i] = geodesic_distance_m(site, geom)
    inside: NDArray[np.bool_] = distances <= distance_m
    return inside, distances


def geodesic_distances_m(lon: float, lat: float, geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    """Distance in metres from (lon, lat) to each geometry (exact for points)."""
    local = local_aeqd(lon, lat)
    projected = transform(geoms, STORAGE_CRS, local)
    distances: NDArray[np.float64] = shapely.distance(shapely.Point(0.0, 0.0), projected)
    return distances
