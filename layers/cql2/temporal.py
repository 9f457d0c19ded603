"""The T_* functions, on instants (date/timestamp expressions) and intervals.

Every operand becomes a closed span [start, end]: an instant is [t, t], an
INTERVAL's open end ('..') is ±infinity. The relations are those of OWL-Time
as CQL2 1.0 references them. Functions that CQL2 defines only between
intervals (T_DURING, T_MEETS, ...) reject instants, as the standard requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from psycopg import sql

from layers.cql2.context import TEMPORAL_KINDS, Compiler, Typed, require_args, require_kind
from layers.cql2.nodes import Interval, Node, Op, Value
from layers.errors import InvalidParameter


@dataclass(frozen=True)
class _Span:
    start: sql.Composable
    end: sql.Composable
    is_instant: bool
    label: str


# Each relation: whether instants are allowed, how its conditions combine, and
# the conditions on the bounds: "as"/"ae" = start/end of the left operand,
# "bs"/"be" = start/end of the right one.
_Condition = tuple[str, str, str]
_RELATIONS: dict[str, tuple[bool, str, tuple[_Condition, ...]]] = {
    "t_before": (True, "AND", (("ae", "<", "bs"),)),
    "t_after": (True, "AND", (("as", ">", "be"),)),
    "t_disjoint": (True, "OR", (("ae", "<", "bs"), ("as", ">", "be"))),
    "t_equals": (True, "AND", (("as", "=", "bs"), ("ae", "=", "be"))),
    "t_intersects": (True, "AND", (("as", "<=", "be"), ("ae", ">=", "bs"))),
    "t_meets": (False, "AND", (("ae", "=", "bs"),)),
    "t_metby": (False, "AND", (("as", "=", "be"),)),
    "t_overlaps": (False, "AND", (("as", "<", "bs"), ("ae", ">", "bs"), ("ae", "<", "be"))),
    "t_overlappedby": (False, "AND", (("bs", "<", "as"), ("be", ">", "as"), ("be", "<", "ae"))),
    "t_starts": (False, "AND", (("as", "=", "bs"), ("ae", "<", "be"))),
    "t_startedby": (False, "AND", (("as", "=", "bs"), ("ae", ">", "be"))),
    "t_during": (False, "AND", (("as", ">", "bs"), ("ae", "<", "be"))),
    "t_contains": (False, "AND", (("as", "<", "bs"), ("ae", ">", "be"))),
    "t_finishes": (False, "AND", (("as", ">", "bs"), ("ae", "=", "be"))),
    "t_finishedby": (False, "AND", (("as", "<", "bs"), ("ae", "=", "be"))),
}


def _relation_sql(name: str, a: _Span, b: _Span) -> sql.Composable:
    _, combine, conditions = _RELATIONS[name]
    bounds = {"as": a.start, "ae": a.end, "bs": b.start, "be": b.end}
    parts = [
        sql.SQL("{} {} {}").format(bounds[left], sql.SQL(operator), bounds[right])
        for left, operator, right in conditions
    ]
    unique: list[sql.Composable] = []  # an instant's start and end are the same SQL
    for part in parts:
        if part not in unique:
            unique.append(part)
    return sql.SQL("({})").format(sql.SQL(f" {combine} ").join(unique))


def compile_temporal(compiler: Compiler, op: Op) -> Typed:
    name = op.name.upper()
    require_args(op, 2, f"{name}(date_or_timestamp_property, INTERVAL('2024-01-01', '..'))")
    left, right = (_span(compiler, arg, name) for arg in op.args)
    accepts_instants = _RELATIONS[op.name][0]
    for span in (left, right):
        if span.is_instant and not accepts_instants:
            raise InvalidParameter(
                f"{name} compares intervals, but {span.label} is an instant; use "
                f"T_INTERSECTS to test whether an instant lies in an interval, or {name} "
                "on INTERVAL(start_property, end_property)"
            )
    return Typed(_relation_sql(op.name, left, right), "boolean", f"the {name} condition")


def _span(compiler: Compiler, node: Node, where: str) -> _Span:
    if isinstance(node, Interval):
        return _interval_span(compiler, node)
    instant = require_kind(compiler.compile(node), TEMPORAL_KINDS, where)
    return _Span(instant.sql, instant.sql, is_instant=True, label=instant.label)


def _interval_span(compiler: Compiler, interval: Interval) -> _Span:
    _check_order(interval)
    bounds = [
        None if node is None else require_kind(compiler.compile(node), TEMPORAL_KINDS, "INTERVAL")
        for node in (interval.start, interval.end)
    ]
    # An open end takes the type of the other end so dates stay dates.
    given = [bound.kind for bound in bounds if bound is not None]
    open_type = sql.SQL("date" if given and set(given) == {"date"} else "timestamptz")
    start, end = (
        bound.sql if bound else sql.SQL("CAST({} AS {})").format(sql.Literal(infinity), open_type)
        for bound, infinity in zip(bounds, ("-infinity", "infinity"), strict=True)
    )
    return _Span(start, end, is_instant=False, label="an INTERVAL")


def _check_order(interval: Interval) -> None:
    start, end = interval.start, interval.end
    if not (isinstance(start, Value) and isinstance(end, Value)):
        return
    first, last = start.value, end.value
    # A date and a timestamp do not compare in Python; PostgreSQL casts them later.
    if isinstance(first, datetime) and isinstance(last, datetime):
        reverse = first > last
    else:
        reverse = type(first) is date and type(last) is date and first > last
    if reverse:
        raise InvalidParameter(f"INTERVAL starts ({first}) after it ends ({last})")


HANDLERS = {name: compile_temporal for name in _RELATIONS}
