"""The CQL2 syntax tree shared by the text and JSON parsers.

The shape follows CQL2-JSON: every operator, predicate and function is an
``Op`` with a lower-case name and its arguments, so both encodings produce the
same tree and the compiler has one input form. ``NOT LIKE``, ``NOT IN``,
``NOT BETWEEN`` and ``IS NOT NULL`` become ``not`` around the positive form,
as in CQL2-JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

ScalarValue = str | int | float | bool | date | datetime


@dataclass(frozen=True)
class Property:
    """A reference to a queryable by its public name."""

    name: str


@dataclass(frozen=True)
class Value:
    """A string, number, boolean, DATE(...) or TIMESTAMP(...) literal."""

    value: ScalarValue


@dataclass(frozen=True)
class Geometry:
    """A WKT or GeoJSON geometry literal, kept as WKB (exact, no re-rounding)."""

    wkb: bytes


@dataclass(frozen=True)
class BBox:
    """A BBOX(...) literal: 4 numbers, or 6 with minimum/maximum elevation."""

    bounds: tuple[float, ...]


@dataclass(frozen=True)
class Interval:
    """An INTERVAL(...) literal; ``None`` stands for an open end ('..')."""

    start: Node | None
    end: Node | None


@dataclass(frozen=True)
class Array:
    """A list of expressions, e.g. the right-hand side of IN."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Op:
    """An operator, predicate or function call, named as in CQL2-JSON (lower case)."""

    name: str
    args: tuple[Node, ...]


Node = Property | Value | Geometry | BBox | Interval | Array | Op

# Deeper filters are rejected (InvalidParameter) before Python's recursion limit is hit.
MAX_NESTING = 100
