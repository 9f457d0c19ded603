"""The inline SVG map of the HTML pages, drawn in linear time with a bounded vertex count.

Every vertex of the page's geometries (GeoJSON, CRS84) goes into one numpy array, is
projected once into the map's pixel box (equirectangular, north up), snapped to a grid of
``cell`` pixels and thinned in a few vectorised passes: a vertex on the same grid point as
the one before it, or on the straight line between its neighbours, is dropped, and a ring
or line left with too few vertices (smaller than a grid cell) is left out. If the map still
needs more than ``MAX_VERTICES`` vertices (points included), the grid is doubled until it
fits, points then drawn once per grid cell; so the SVG of any page, however large its
geometries, stays within a fixed size, and each pass costs time proportional to the
vertices of the page. ``ogc.html.pages`` calls this in a worker thread, never on the event loop.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAP_WIDTH, MAP_HEIGHT = 640, 400  # pixels of the viewBox
MAX_VERTICES = 20_000  # vertices + circles of one map, whatever the page holds
FINEST_CELL = 0.5  # pixels: below what a screen shows at the map's size

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True)
class Drawing:
    """Every ring and line vertex (``xy``, with the part each belongs to), and the points."""

    xy: Floats  # (n, 2)
    part: Ints  # (n,) index of the vertex's part, non-decreasing
    closed: NDArray[np.bool_]  # (parts,) the part is a polygon ring
    shape: Ints  # (parts,) index of the geometry the part belongs to (one <path> each)
    dots: Floats  # (m, 2) points

    @property
    def vertices(self) -> int:
        return len(self.xy) + len(self.dots)


def _positions(geometry: Any) -> Iterator[tuple[str, list[list[float]]]]:
    """(type, positions) of every ring/line/point set of a GeoJSON geometry."""
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Point":
        yield kind, [coords]
    elif kind in ("MultiPoint", "LineString"):
        yield kind, coords
    elif kind in ("MultiLineString", "Polygon"):
        yield from ((kind, ring) for ring in coords)
    elif kind == "MultiPolygon":
        yield from ((kind, ring) for polygon in coords for ring in polygon)
    elif kind == "GeometryCollection":
        for member in geometry.get("geometries") or []:
            if member:
                yield from _positions(member)


def _array(positions: list[list[float]]) -> Floats:
    try:
        array = np.asarray(positions, dtype=np.float64)
    except ValueError:  # mixed 2D/3D positions
        array = np.asarray([p[:2] for p in positions], dtype=np.float64)
    return array.reshape(len(positions), -1)[:, :2] if len(positions) else np.empty((0, 2))


def collect(geometries: Iterable[Any]) -> Drawing | None:
    """The geometries' vertices in degrees (None: no position at all)."""
    flat: list[list[float]] = []
    dots: list[list[float]] = []
    lengths: list[int] = []
    closed: list[bool] = []
    shape: list[int] = []
    for index, geometry in enumerate(geometries):
        for kind, positions in _positions(geometry) if geometry else ():
            usable = [p for p in positions if p and len(p) >= 2]
            if "Point" in kind:
                dots += usable
            elif usable:
                flat += usable
                lengths.append(len(usable))
                closed.append("Polygon" in kind)
                shape.append(index)
    if not flat and not dots:
        return None
    return Drawing(
        _array(flat),
        np.repeat(np.arange(len(lengths), dtype=np.int64), lengths),
        np.array(closed, dtype=bool),
        np.array(shape, dtype=np.int64),
        _array(dots),
    )


def project(drawing: Drawing, width: int, height: int) -> Drawing:
    """The drawing in pixels of the width×height box, its extent fitted and centred."""
    both = np.concatenate([drawing.xy, drawing.dots])
    low, high = both.min(axis=0), both.max(axis=0)
    aspect = math.cos(math.radians((low[1] + high[1]) / 2))
    span_x = max((high[0] - low[0]) * aspect, 1e-9)
    span_y = max(high[1] - low[1], 1e-9)
    scale = 0.92 * min(width / span_x, height / span_y)
    origin = np.array([low[0], high[1]])
    factor = np.array([aspect * scale, -scale])
    offset = np.array([(width - span_x * scale) / 2, (height - span_y * scale) / 2])
    return replace(
        drawing,
        xy=(drawing.xy - origin) * factor + offset,
        dots=(drawing.dots - origin) * factor + offset,
    )


def _starts(part: Ints) -> NDArray[np.bool_]:
    first = np.ones(len(part), dtype=bool)
    first[1:] = part[1:] != part[:-1]
    return first


def thin(drawing: Drawing, cell: float, merge_points: bool) -> Drawing:
    """Snapped to the grid; repeated and collinear vertices and sub-cell parts dropped."""
    grid, part = np.round(drawing.xy / cell), drawing.part
    moved = _starts(part)
    moved[1:] |= np.any(grid[1:] != grid[:-1], axis=1)
    grid, part = grid[moved], part[moved]
    ends = _starts(part)
    ends[:-1] |= part[:-1] != part[1:]  # first or last vertex of its part
    ends[-1:] = True
    if len(grid) > 2:
        before, after = grid[1:-1] - grid[:-2], grid[2:] - grid[1:-1]
        ends[1:-1] |= before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0] != 0
    grid, part = grid[ends], part[ends]
    counts = np.bincount(part, minlength=len(drawing.closed))
    enough = counts >= np.where(drawing.closed, 3, 2)
    kept = enough[part]
    dots = drawing.dots
    if merge_points and len(dots):
        dots = np.unique(np.round(dots / cell), axis=0) * cell
    return replace(drawing, xy=grid[kept] * cell, part=part[kept], dots=dots)


def fit(drawing: Drawing, budget: int = MAX_VERTICES) -> Drawing:
    """The drawing thinned on the finest grid that keeps it within ``budget`` vertices."""
    cell = FINEST_CELL
    thinned = thin(drawing, cell, merge_points=False)
    while thinned.vertices > budget:
        cell *= 2
        thinned = thin(drawing, cell, merge_points=True)
        if cell > max(MAP_WIDTH, MAP_HEIGHT) and thinned.vertices > budget:
            return _first_parts(thinned, budget)
    return thinned


def _first_parts(drawing: Drawing, budget: int) -> Drawing:
    """The whole parts that fit in the budget beside the points (a last resort: even a grid
    coarser than the map left too many vertices)."""
    counts = np.bincount(drawing.part, minlength=len(drawing.closed))
    fits = np.cumsum(counts) <= budget - len(drawing.dots)
    kept = fits[drawing.part]
    return replace(drawing, xy=drawing.xy[kept], part=drawing.part[kept])


def _paths(drawing: Drawing) -> Iterator[str]:
    """One <path> per geometry, its parts as subpaths."""
    if not len(drawing.xy):
        return
    breaks = np.flatnonzero(drawing.part[1:] != drawing.part[:-1]) + 1
    parts = np.split(drawing.xy, breaks)
    ids = drawing.part[np.concatenate(([0], breaks))].tolist()
    current, rings = -1, list[str]()
    for part_id, vertices in zip(ids, parts, strict=True):
        shape = int(drawing.shape[part_id])
        if shape != current and rings:
            yield f'<path d="{" ".join(rings)}" fill-rule="evenodd"/>'
            rings = []
        current = shape
        close = "Z" if drawing.closed[part_id] else ""
        rings.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in vertices.tolist()) + close)
    yield f'<path d="{" ".join(rings)}" fill-rule="evenodd"/>'


def svg_map(
    geometries: Iterable[Any],
    width: int = MAP_WIDTH,
    height: int = MAP_HEIGHT,
    budget: int = MAX_VERTICES,
) -> str | None:
    """An SVG map of the geometries in a width×height box; None when they have no position."""
    collected = collect(geometries)
    if collected is None:
        return None
    drawn = fit(project(collected, width, height), budget)
    circles = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"/>' for x, y in drawn.dots.tolist())
    return (
        f'<svg class="map" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(_paths(drawn))
        + "".join(circles)
        + "</svg>"
    )
