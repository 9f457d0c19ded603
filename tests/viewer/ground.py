"""Where a longitude/latitude falls on the viewer's map, worked out here — from the
server's tile matrix set and pyproj — not asked of the page, so tests that click known
places and compare geodesic figures check the viewer against an independent computation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import httpx
from pyproj import Geod, Transformer

from tests.helpers.live import LiveServer

GEOD = Geod(ellps="WGS84")  # CGCS2000's ellipsoid differs from it by 0.1 mm in b
TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
GRIDS = ("WebMercatorQuad", "CGCS2000Quad")  # the viewer's two (viewer/src/grids.js)


@dataclass(frozen=True)
class MapView:
    """A view of ``grid`` centred on ``centre`` (lon, lat) at ``zoom``; ``resolution`` is the
    matrix's cell size (map units per CSS pixel: metres or degrees)."""

    grid: str
    centre: tuple[float, float]
    zoom: int
    resolution: float

    def projected(self, lon: float, lat: float) -> tuple[float, float]:
        if self.grid == "CGCS2000Quad":
            return lon, lat  # drawn as longitude/latitude
        x, y = TO_MERCATOR.transform(lon, lat)
        return float(x), float(y)

    def offset(self, lon: float, lat: float) -> tuple[float, float]:
        """CSS pixels right and down from the map's centre."""
        cx, cy = self.projected(*self.centre)
        x, y = self.projected(lon, lat)
        return (x - cx) / self.resolution, (cy - y) / self.resolution

    def fragment(self, layers: str = "gd-province,gd-counties") -> str:
        lon, lat = self.centre
        return f"#c={lon},{lat}&z={self.zoom}&g={self.grid}&l={layers}"


def cell_sizes(server: LiveServer, grid: str) -> list[float]:
    """The grid's cell sizes from coarsest to finest: the viewer's zoom levels."""
    response = httpx.get(f"{server.url}/tileMatrixSets/{grid}")
    response.raise_for_status()
    return sorted((m["cellSize"] for m in response.json()["tileMatrices"]), reverse=True)


def view_around(
    server: LiveServer, grid: str, places: list[tuple[float, float]], room: tuple[float, float]
) -> MapView:
    """The closest view of ``grid`` showing all ``places`` within ``room`` (CSS pixels
    across and down, centred)."""
    lons, lats = [p[0] for p in places], [p[1] for p in places]
    centre = ((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)
    best = None
    for zoom, size in enumerate(cell_sizes(server, grid)):
        candidate = MapView(grid, centre, zoom, size)
        offsets = [candidate.offset(*p) for p in places]
        if all(abs(dx) <= room[0] / 2 and abs(dy) <= room[1] / 2 for dx, dy in offsets):
            best = candidate
    assert best is not None, f"no level of {grid} shows {places} in {room}"
    return best


def line_length(places: list[tuple[float, float]]) -> float:
    """Geodesic length in metres on the ellipsoid."""
    lons, lats = zip(*places, strict=True)
    return float(GEOD.line_length(lons, lats))


def polygon_area(places: list[tuple[float, float]]) -> float:
    """Geodesic area in square metres on the ellipsoid."""
    lons, lats = zip(*places, strict=True)
    area, _ = GEOD.polygon_area_perimeter(lons, lats)
    return abs(float(area))


def metres_per_pixel(view: MapView) -> float:
    """Ground metres a CSS pixel spans at the view's centre: Web Mercator's scale is the
    same both ways; on longitude/latitude a pixel spans less east-west than north-south
    (8 % at 23° N) and a scale bar shows their mean, as OpenLayers' ScaleLine does."""
    lon, lat = view.centre
    if view.grid == "CGCS2000Quad":
        _, _, east = GEOD.inv(lon, lat, lon + view.resolution, lat)
        _, _, north = GEOD.inv(lon, lat, lon, lat + view.resolution)
        return float(east + north) / 2
    return view.resolution * math.cos(math.radians(lat))
