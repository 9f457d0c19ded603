"""The inline SVG map of the HTML pages, drawn in linear time with a bounded vertex count.

Geometries (GeoJSON, CRS84) are projected once into the map's pixel box with numpy
(equirectangular, north up), snapped to a grid of ``cell`` pixels and thinned: a vertex
that lands on the same grid point as the one before it, or lies on the straight line
between its neighbours, is dropped. Rings that shrink below a pixel are left out (they
would not show). If a page still needs more than ``MAX_VERTICES`` vertices (points
included), the grid is doubled until it fits, so the SVG of any page, however large its
geometries, stays within a fixed size; points on one grid cell are then drawn once.

Work is proportional to the vertices the page's GeoJSON holds; it runs in a worker
thread (``ogc.html`` renders pages off the event loop).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAP_WIDTH, MAP_HEIGHT = 640, 400  # pixels of the viewBox
MAX_VERTICES = 20_000  # vertices + circles of one map, whatever the page holds
FINEST_CELL = 0.5  # pixels: below what a screen shows at the map's size

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Shape:
    """One geometry's parts in pixels: rings/lines, or points when ``points`` is set."""

    parts: list[Array]
    closed: bool
    points: bool


def _positions(geometry: Any) -> Iterator[list[list[float]]]:
    """Every ring/line (as a list of positions) of a GeoJSON geometry."""
    if not geometry:
        return
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point":
        yield [coords]
    elif kind in ("MultiPoint", "LineString"):
        yield coords
    elif kind in ("MultiLineString", "Polygon"):
        yield from coords
    elif kind == "MultiPolygon":
        for polygon in coords:
            yield from polygon
    elif kind == "GeometryCollection":
        for part in geometry.get("geometries", []):
            yield from _positions(part)


def _kind_parts(geometry: Any) -> Iterator[tuple[str, list[list[float]]]]:
    """(type, ring) pairs; a GeometryCollection's members keep their own type."""
    if geometry.get("type") == "GeometryCollection":
        for member in geometry.get("geometries", []):
            if member:
                yield from _kind_parts(member)
        return
    for ring in _positions(geometry):
        if ring:
            yield geometry.get("type", ""), ring


def _shapes(geometries: Iterable[Any]) -> list[tuple[str, list[Array]]]:
    grouped: dict[int, tuple[str, list[Array]]] = {}
    for index, geometry in enumerate(geometries):
        if not geometry:
            continue
        for kind, ring in _kind_parts(geometry):
            array = np.asarray(ring, dtype=np.float64).reshape(len(ring), -1)[:, :2]
            if array.shape[1] < 2:
                continue  # an empty position
            key = index * 4 + ("Point" in kind) * 1 + ("Polygon" in kind) * 2
            grouped.setdefault(key, (kind, []))[1].append(array)
    return list(grouped.values())


def _project(shapes: list[tuple[str, list[Array]]], width: int, height: int) -> list[Shape]:
    """Every part in pixel coordinates of the width×height box (the page's extent fitted)."""
    arrays = [a for _, parts in shapes for a in parts]
    lows = np.min([a.min(axis=0) for a in arrays], axis=0)
    highs = np.max([a.max(axis=0) for a in arrays], axis=0)
    aspect = math.cos(math.radians((lows[1] + highs[1]) / 2))
    span_x = max((highs[0] - lows[0]) * aspect, 1e-9)
    span_y = max(highs[1] - lows[1], 1e-9)
    scale = 0.92 * min(width / span_x, height / span_y)
    origin = np.array([lows[0], highs[1]])
    factor = np.array([aspect * scale, -scale])
    offset = np.array([(width - span_x * scale) / 2, (height - span_y * scale) / 2])
    return [
        Shape([(a - origin) * factor + offset for a in parts], "Polygon" in kind, "Point" in kind)
        for kind, parts in shapes
    ]


def _thin(part: Array, cell: float, closed: bool) -> Array | None:
    """The part snapped to the grid without repeated or collinear vertices (None: too small)."""
    snapped = np.round(part / cell)
    if len(snapped) > 1:
        moved = np.any(snapped[1:] != snapped[:-1], axis=1)
        snapped = snapped[np.concatenate(([True], moved))]
    if len(snapped) > 2:
        before, here, after = snapped[:-2], snapped[1:-1], snapped[2:]
        turn = (here[:, 0] - before[:, 0]) * (after[:, 1] - here[:, 1]) - (
            here[:, 1] - before[:, 1]
        ) * (after[:, 0] - here[:, 0])
        snapped = snapped[np.concatenate(([True], turn != 0, [True]))]
    if len(snapped) < (3 if closed else 2):
        return None
    return snapped * cell


def _dots(parts: list[Array], cell: float, distinct: bool) -> Array:
    points = np.concatenate(parts)
    if not distinct:
        return points
    return np.unique(np.round(points / cell), axis=0) * cell


def _thinned(shapes: list[Shape], cell: float, distinct: bool) -> list[Shape]:
    out = []
    for shape in shapes:
        if shape.points:
            out.append(Shape([_dots(shape.parts, cell, distinct)], False, True))
            continue
        kept = [t for p in shape.parts if (t := _thin(p, cell, shape.closed)) is not None]
        out.append(Shape(kept, shape.closed, False))
    return out


def vertex_count(shapes: list[Shape]) -> int:
    return sum(len(part) for shape in shapes for part in shape.parts)


def fit(shapes: list[Shape], budget: int = MAX_VERTICES) -> list[Shape]:
    """The shapes thinned on the finest grid that keeps them within ``budget`` vertices."""
    cell, distinct = FINEST_CELL, False
    while True:
        thinned = _thinned(shapes, cell, distinct)
        if vertex_count(thinned) <= budget:
            return thinned
        cell, distinct = cell * 2, True


def _svg_shape(shape: Shape) -> str:
    if shape.points:
        return "".join(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"/>' for x, y in shape.parts[0].tolist()
        )
    if not shape.parts:
        return ""
    close = "Z" if shape.closed else ""
    rings = (
        "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in part.tolist()) + close
        for part in shape.parts
    )
    return f'<path d="{" ".join(rings)}" fill-rule="evenodd"/>'


def svg_map(
    geometries: Iterable[Any],
    width: int = MAP_WIDTH,
    height: int = MAP_HEIGHT,
    budget: int = MAX_VERTICES,
) -> str | None:
    """An SVG map of the geometries in a width×height box; None when they have no position."""
    shapes = _shapes(geometries)
    if not shapes:
        return None
    drawn = fit(_project(shapes, width, height), budget)
    return (
        f'<svg class="map" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(_svg_shape(shape) for shape in drawn)
        + "</svg>"
    )
