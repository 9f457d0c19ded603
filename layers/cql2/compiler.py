"""CQL2 (text or JSON) → a PostGIS WHERE condition as ``psycopg.sql.Composed``.

Every user value in the result is a ``sql.Literal`` and every column a
``sql.Identifier`` of a configured queryable; see ``layers.cql2.context``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from psycopg import sql

from layers.cql2 import scalar, spatial, temporal
from layers.cql2.context import Compiler, FilterContext, Kind, Typed, describe
from layers.cql2.json_parser import JsonFilter, parse_json
from layers.cql2.nodes import (
    MAX_NESTING,
    Array,
    BBox,
    Geometry,
    Interval,
    Node,
    Op,
    Property,
    Value,
)
from layers.cql2.queryables import Queryable
from layers.cql2.text_parser import parse_text
from layers.errors import InvalidParameter

FILTER_LANGUAGES = ("cql2-text", "cql2-json")
# Longer filters are refused before parsing: parsing costs ~10 µs a character (an IN list
# of 200 kB took 2 s). A URL holds 64 KiB (ONEMAP_MAX_URL_BYTES); process inputs, in a
# body, could hold far more.
MAX_FILTER_CHARS = 65_536

_HANDLERS: dict[str, scalar.Handler] = {**scalar.HANDLERS, **spatial.HANDLERS, **temporal.HANDLERS}


def parse_filter(expression: str | JsonFilter, lang: str) -> Node:
    """Parse a filter in ``lang`` (``filter-lang``): cql2-text or cql2-json."""
    if isinstance(expression, str | bytes) and len(expression) > MAX_FILTER_CHARS:
        raise InvalidParameter(
            f"the filter is {len(expression)} characters long; at most {MAX_FILTER_CHARS} are "
            "read: simplify it (a bbox or an admin code instead of a detailed polygon)"
        )
    if lang == "cql2-text":
        if not isinstance(expression, str):
            raise InvalidParameter("a cql2-text filter must be a string")
        return parse_text(expression)
    if lang == "cql2-json":
        return parse_json(expression)
    raise InvalidParameter(
        f"filter-lang {lang!r} is not supported; use one of: {', '.join(FILTER_LANGUAGES)}"
    )


def compile_filter(
    expression: Node | str | JsonFilter,
    lang: str,
    queryables: Mapping[str, Queryable],
    *,
    geometry_column: str,
    storage_srid: int,
    filter_srid: int = 4326,
    filter_lat_first: bool = False,
) -> sql.Composed:
    """Compile a CQL2 filter into a parenthesised SQL boolean condition.

    ``expression`` is CQL2 Text, CQL2 JSON (text or decoded) as named by
    ``lang``, or an already parsed tree (then ``lang`` is not used).

    Geometry literals are in ``filter_srid``: CRS84 (lon/lat) by default; set
    ``filter_lat_first`` for a latitude-first CRS such as EPSG:4326 or 4490
    (``layers.crs.filter_crs_from_uri`` gives both). They are transformed to
    ``storage_srid``, the SRID of ``geometry_column``. Raises InvalidParameter
    for anything the client must fix.
    """
    _check_geometry_queryables(queryables, geometry_column)
    tree = expression if isinstance(expression, _NODE_TYPES) else parse_filter(expression, lang)
    context = FilterContext(queryables, storage_srid, filter_srid, filter_lat_first)
    try:
        condition = _TreeCompiler(context).compile(tree)
    except RecursionError:
        raise InvalidParameter("the filter is nested too deeply") from None
    if condition.kind != "boolean":
        raise InvalidParameter(
            f"a filter must be a condition such as pop > 100000, but it is {condition.label} "
            f"({condition.kind})"
        )
    return sql.Composed([sql.SQL("("), condition.sql, sql.SQL(")")])


_NODE_TYPES = (Property, Value, Geometry, BBox, Interval, Array, Op)


def _check_geometry_queryables(queryables: Mapping[str, Queryable], geometry_column: str) -> None:
    """Literals are transformed to the SRID of geometry_column only (a configuration check)."""
    for queryable in queryables.values():
        if queryable.type == "geometry" and queryable.column != geometry_column:
            raise ValueError(
                f"geometry queryable {queryable.name!r} reads column {queryable.column!r}, "
                f"but filters are compiled for geometry column {geometry_column!r}"
            )


class _TreeCompiler(Compiler):
    def __init__(self, context: FilterContext) -> None:
        self._context = context
        self._depth = 0

    @property
    def context(self) -> FilterContext:
        return self._context

    def compile(self, node: Node) -> Typed:
        self._depth += 1
        if self._depth > MAX_NESTING:
            raise InvalidParameter(f"the filter nests more than {MAX_NESTING} levels")
        try:
            return self._compile(node)
        finally:
            self._depth -= 1

    def _compile(self, node: Node) -> Typed:
        if isinstance(node, Property):
            return self._property(node.name)
        if isinstance(node, Value):
            return _value(node)
        if isinstance(node, Geometry):
            return spatial.compile_geometry(node, self._context)
        if isinstance(node, BBox):
            return spatial.compile_bbox(node, self._context)
        if isinstance(node, Op):
            return self._operation(node)
        if isinstance(node, Interval):
            raise InvalidParameter("INTERVAL(...) can only be used in T_* temporal functions")
        raise InvalidParameter(f"{describe(node)} can only be used as the values of IN")

    def _operation(self, op: Op) -> Typed:
        handler = _HANDLERS.get(op.name)
        if handler is None:
            raise InvalidParameter(
                f"unknown function or operator {op.name!r}; this server supports the CQL2 "
                "comparison, LIKE/BETWEEN/IN, arithmetic, CASEI, S_* and T_* operators"
            )
        return handler(self, op)

    def _property(self, name: str) -> Typed:
        queryable = self._context.queryables.get(name)
        if queryable is None:
            raise InvalidParameter(_unknown_property_message(name, self._context.queryables))
        kind: Kind = "number" if queryable.type == "integer" else queryable.type
        return Typed(sql.Identifier(queryable.column), kind, name)


def _unknown_property_message(name: str, queryables: Mapping[str, Any]) -> str:
    known = ", ".join(queryables) or "(none)"
    message = f"unknown property {name!r} in filter; queryables are: {known}"
    close = difflib.get_close_matches(name, list(queryables), n=1)
    return f"{message} (did you mean {close[0]!r}?)" if close else message


def _value(node: Value) -> Typed:
    value = node.value
    kind: Kind
    if isinstance(value, bool):
        kind = "boolean"
    elif isinstance(value, str):
        kind = "string"
    elif isinstance(value, datetime):  # before date: datetime is a date subclass
        kind = "timestamp"
    elif isinstance(value, date):
        kind = "date"
    else:
        kind = "number"
    return Typed(sql.Literal(value), kind, describe(node))
