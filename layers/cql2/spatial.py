"""Spatial literals and the S_* functions.

A geometry literal is in the filter CRS (CRS84 unless ``filter-crs`` says
otherwise). It is built from WKB, axis-swapped with ST_FlipCoordinates when
that CRS is latitude-first, and moved to the storage SRID with ST_Transform,
so the comparison runs on the stored column and its spatial index.
"""

from __future__ import annotations

from typing import Any

import shapely
from psycopg import sql

from layers.cql2.context import Compiler, FilterContext, Kind, Typed, describe, require_args
from layers.cql2.nodes import BBox, Geometry, Op
from layers.crs import GEOGRAPHIC_SRIDS
from layers.errors import InvalidParameter

_FUNCTIONS = {
    "s_intersects": "ST_Intersects",
    "s_disjoint": "ST_Disjoint",
    "s_within": "ST_Within",
    "s_contains": "ST_Contains",
    "s_overlaps": "ST_Overlaps",
    "s_touches": "ST_Touches",
    "s_crosses": "ST_Crosses",
    "s_equals": "ST_Equals",
}
_GEOMETRY: frozenset[Kind] = frozenset({"geometry"})


def compile_geometry(literal: Geometry, context: FilterContext) -> Typed:
    """SQL for a geometry literal, in the storage SRID."""
    geometry: sql.Composable = sql.SQL("ST_GeomFromWKB({}, {})").format(
        sql.Literal(literal.wkb), sql.Literal(context.filter_srid)
    )
    if context.filter_lat_first:
        geometry = sql.SQL("ST_FlipCoordinates({})").format(geometry)
    if context.filter_srid != context.storage_srid:
        target = sql.Literal(context.storage_srid)
        geometry = sql.SQL("ST_Transform({}, {})").format(geometry, target)
    return Typed(geometry, "geometry", "a geometry literal")


def compile_bbox(bbox: BBox, context: FilterContext) -> Typed:
    """A BBOX literal as a polygon; 6 numbers carry elevations, which are ignored."""
    bounds = bbox.bounds if len(bbox.bounds) == 4 else bbox.bounds[:2] + bbox.bounds[3:5]
    typed = compile_geometry(Geometry(shapely.to_wkb(_bbox_shape(bounds, context))), context)
    return Typed(typed.sql, "geometry", describe(bbox))


def _bbox_shape(bounds: tuple[float, ...], context: FilterContext) -> Any:
    """Bounds are in the filter CRS's axis order, like every other coordinate.

    In a geographic CRS a longitude minimum above its maximum means the box
    crosses the antimeridian; it becomes two boxes split at ±180°.
    """
    geographic = context.filter_srid in GEOGRAPHIC_SRIDS
    lon_axis = 1 if context.filter_lat_first else 0
    lows, highs = bounds[:2], bounds[2:]
    for axis in (0, 1):
        if lows[axis] > highs[axis] and not (geographic and axis == lon_axis):
            raise InvalidParameter(f"{describe(BBox(bounds))}: a minimum exceeds its maximum")
    if lows[lon_axis] <= highs[lon_axis] or not geographic:
        return shapely.box(*bounds)
    eastern, western = list(bounds), list(bounds)
    eastern[2 + lon_axis] = 180.0
    western[lon_axis] = -180.0
    return shapely.MultiPolygon([shapely.box(*eastern), shapely.box(*western)])


def compile_spatial(compiler: Compiler, op: Op) -> Typed:
    require_args(op, 2, f"{op.name.upper()}(geometry_property, POLYGON((...)))")
    left, right = (compiler.compile(arg) for arg in op.args)
    for operand in (left, right):
        if operand.kind not in _GEOMETRY:
            raise InvalidParameter(
                f"{op.name.upper()} needs geometries, but {operand.label} is {operand.kind}"
            )
    fragment = sql.SQL("{}({}, {})").format(sql.SQL(_FUNCTIONS[op.name]), left.sql, right.sql)
    return Typed(fragment, "boolean", f"the {op.name.upper()} condition")


HANDLERS = {name: compile_spatial for name in _FUNCTIONS}
