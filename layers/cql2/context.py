"""What every operator compiler shares: typed SQL fragments, the filter's CRS
settings, and helpers for arity and type errors.

Safety rule for the whole package: user values reach SQL only as
``psycopg.sql.Literal`` (psycopg quotes and escapes them for the connection),
column names only as ``psycopg.sql.Identifier`` of a configured queryable, and
``psycopg.sql.SQL`` only ever wraps constant strings written in this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from psycopg import sql

from layers.cql2.nodes import BBox, Geometry, Interval, Node, Op, Property, Value
from layers.cql2.queryables import Queryable
from layers.errors import InvalidParameter

# The type of a compiled expression; integers and numbers are both "number".
Kind = Literal["string", "number", "boolean", "date", "timestamp", "geometry"]
TEMPORAL_KINDS: frozenset[Kind] = frozenset({"date", "timestamp"})


@dataclass(frozen=True)
class Typed:
    """A compiled expression: its SQL, its type, and how to name it in errors."""

    sql: sql.Composable
    kind: Kind
    label: str


@dataclass(frozen=True)
class FilterContext:
    """The layer and request settings a filter is compiled against."""

    queryables: Mapping[str, Queryable]
    storage_srid: int
    filter_srid: int
    filter_lat_first: bool


class Compiler(Protocol):
    """The recursive entry point that operator compilers call for their operands."""

    @property
    def context(self) -> FilterContext: ...

    def compile(self, node: Node) -> Typed: ...


def family(kind: Kind) -> str:
    """Kinds that compare with each other: dates and timestamps are both temporal."""
    return "temporal" if kind in TEMPORAL_KINDS else kind


def require_args(op: Op, count: int, usage: str) -> None:
    if len(op.args) != count:
        raise InvalidParameter(
            f"{op.name.upper()} takes {count} argument(s), got {len(op.args)}; usage: {usage}"
        )


def require_kind(operand: Typed, kinds: set[Kind] | frozenset[Kind], where: str) -> Typed:
    if operand.kind not in kinds:
        expected = " or ".join(sorted(kinds))
        raise InvalidParameter(
            f"{where} needs {expected} operands, but {operand.label} is {operand.kind}"
        )
    return operand


def require_same_family(left: Typed, right: Typed, where: str) -> None:
    if family(left.kind) == family(right.kind):
        return
    kinds = {family(left.kind), family(right.kind)}
    hint = ""
    if kinds == {"string", "temporal"}:
        hint = "; write DATE('2024-06-30') or TIMESTAMP('2024-06-30T08:00:00Z')"
    elif "string" in kinds:
        hint = "; write string values in single quotes, e.g. '440106'"
    raise InvalidParameter(
        f"cannot compare {left.label} ({left.kind}) with {right.label} ({right.kind}) "
        f"in {where}{hint}"
    )


def describe(node: Node) -> str:
    """A short CQL2-Text-like rendering of an operand for error messages."""
    if isinstance(node, Property):
        return node.name
    if isinstance(node, Value):
        return _describe_value(node.value)
    if isinstance(node, Geometry):
        return "a geometry literal"
    if isinstance(node, BBox):
        return "BBOX(" + ", ".join(f"{b:g}" for b in node.bounds) + ")"
    if isinstance(node, Interval):
        return "an INTERVAL"
    if isinstance(node, Op):
        return f"the {node.name.upper()} expression"
    return "a list"


def _describe_value(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, datetime):
        return f"TIMESTAMP('{value.isoformat()}')"
    if isinstance(value, date):
        return f"DATE('{value.isoformat()}')"
    return str(value)
