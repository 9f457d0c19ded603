"""Logical, comparison, advanced comparison, arithmetic and CASEI operators.

Arithmetic runs on ``numeric`` so integer columns cannot overflow, and
division-like operators divide by ``NULLIF(divisor, 0)``: x / 0 is NULL (no
match) instead of an SQL error. What can still fail at run time (e.g.
``0 ^ -1``, numeric overflow) raises SQLSTATE class 22, which callers should
report as a 400.
"""

from __future__ import annotations

from collections.abc import Callable

from psycopg import sql

from layers.cql2.context import (
    Compiler,
    Kind,
    Typed,
    describe,
    require_args,
    require_kind,
    require_same_family,
)
from layers.cql2.nodes import Array, Node, Op, Value
from layers.errors import InvalidParameter

Handler = Callable[[Compiler, Op], Typed]

_COMPARISONS = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_ORDERABLE: frozenset[Kind] = frozenset({"string", "number", "date", "timestamp"})
_NUMBER: frozenset[Kind] = frozenset({"number"})
_STRING: frozenset[Kind] = frozenset({"string"})
_BOOLEAN: frozenset[Kind] = frozenset({"boolean"})


def _boolean(fragment: sql.Composable, label: str) -> Typed:
    return Typed(fragment, "boolean", label)


def compile_and_or(compiler: Compiler, op: Op) -> Typed:
    if len(op.args) < 2:
        raise InvalidParameter(f"{op.name.upper()} needs at least two conditions")
    where = op.name.upper()
    parts = [require_kind(compiler.compile(arg), _BOOLEAN, where).sql for arg in op.args]
    joiner = sql.SQL(" AND ") if op.name == "and" else sql.SQL(" OR ")
    return _boolean(sql.SQL("({})").format(joiner.join(parts)), f"the {where} condition")


def compile_not(compiler: Compiler, op: Op) -> Typed:
    require_args(op, 1, "NOT condition")
    operand = require_kind(compiler.compile(op.args[0]), _BOOLEAN, "NOT")
    return _boolean(sql.SQL("(NOT {})").format(operand.sql), "the NOT condition")


def compile_comparison(compiler: Compiler, op: Op) -> Typed:
    require_args(op, 2, f"a {op.name} b")
    left, right = (compiler.compile(arg) for arg in op.args)
    where = f"'{op.name}'"
    require_same_family(left, right, where)
    if left.kind == "geometry":
        raise InvalidParameter(f"'{op.name}' does not apply to geometries; use S_EQUALS(a, b)")
    operator = sql.SQL(_COMPARISONS[op.name])
    fragment = sql.SQL("({} {} {})").format(left.sql, operator, right.sql)
    return _boolean(fragment, f"the {op.name} comparison")


def compile_like(compiler: Compiler, op: Op) -> Typed:
    require_args(op, 2, "property LIKE 'pattern%'")
    _check_like_pattern(op.args[1])
    value, pattern = (require_kind(compiler.compile(a), _STRING, "LIKE") for a in op.args)
    # CQL2 and PostgreSQL share % _ and the backslash escape; ESCAPE pins the latter.
    fragment = sql.SQL("({} LIKE {} ESCAPE {})").format(value.sql, pattern.sql, sql.Literal("\\"))
    return _boolean(fragment, "the LIKE condition")


def _check_like_pattern(node: Node) -> None:
    """A literal pattern may not end in a lone escape (PostgreSQL would fail at run time)."""
    text = node.value if isinstance(node, Value) else None
    if isinstance(text, str) and (len(text) - len(text.rstrip("\\"))) % 2 == 1:
        raise InvalidParameter(
            f"LIKE pattern {text[-40:]!r} ends with a lone backslash (the escape character); "
            "write \\\\ for a literal backslash"
        )


def compile_between(compiler: Compiler, op: Op) -> Typed:
    require_args(op, 3, "property BETWEEN low AND high")
    value, low, high = (require_kind(compiler.compile(a), _ORDERABLE, "BETWEEN") for a in op.args)
    require_same_family(value, low, "BETWEEN")
    require_same_family(value, high, "BETWEEN")
    fragment = sql.SQL("({} BETWEEN {} AND {})").format(value.sql, low.sql, high.sql)
    return _boolean(fragment, "the BETWEEN condition")


def compile_in(compiler: Compiler, op: Op) -> Typed:
    require_args(op, 2, "property IN (value, ...)")
    values = op.args[1]
    if not isinstance(values, Array) or not values.items:
        raise InvalidParameter("IN needs a non-empty list of values, e.g. name IN ('a', 'b')")
    value = compiler.compile(op.args[0])
    if value.kind == "geometry":
        raise InvalidParameter("IN does not apply to geometries; use S_EQUALS(a, b)")
    options = [compiler.compile(item) for item in values.items]
    for option in options:
        require_same_family(value, option, "IN")
    fragment = sql.SQL("({} IN ({}))").format(value.sql, sql.SQL(", ").join(o.sql for o in options))
    return _boolean(fragment, "the IN condition")


def compile_is_null(compiler: Compiler, op: Op) -> Typed:
    require_args(op, 1, "property IS NULL")
    operand = compiler.compile(op.args[0])
    return _boolean(sql.SQL("({} IS NULL)").format(operand.sql), "the IS NULL condition")


def compile_arithmetic(compiler: Compiler, op: Op) -> Typed:
    require_args(op, 2, f"a {op.name} b")
    left, right = (_as_numeric(compiler.compile(arg), op.name) for arg in op.args)
    if op.name in ("+", "-", "*"):
        fragment = sql.SQL("({} {} {})").format(left, sql.SQL(op.name), right)
    elif op.name == "^":
        fragment = sql.SQL("power({}, {})").format(left, right)
    else:
        divisor = sql.SQL("NULLIF({}, 0)").format(right)
        template = {"/": "({} / {})", "%": "mod({}, {})", "div": "div({}, {})"}[op.name]
        fragment = sql.SQL(template).format(left, divisor)
    return Typed(fragment, "number", f"the {op.name} expression")


def _as_numeric(operand: Typed, where: str) -> sql.Composable:
    return sql.SQL("CAST({} AS numeric)").format(require_kind(operand, _NUMBER, where).sql)


def compile_casei(compiler: Compiler, op: Op) -> Typed:
    require_args(op, 1, "CASEI(property) = CASEI('value')")
    operand = require_kind(compiler.compile(op.args[0]), _STRING, "CASEI")
    return Typed(sql.SQL("lower({})").format(operand.sql), "string", describe(op))


def reject_accenti(compiler: Compiler, op: Op) -> Typed:
    raise InvalidParameter(
        "ACCENTI is not supported by this server; use CASEI or LIKE patterns instead"
    )


HANDLERS: dict[str, Handler] = {
    "and": compile_and_or,
    "or": compile_and_or,
    "not": compile_not,
    **{name: compile_comparison for name in _COMPARISONS},
    "like": compile_like,
    "between": compile_between,
    "in": compile_in,
    "isnull": compile_is_null,
    **{name: compile_arithmetic for name in ("+", "-", "*", "/", "%", "div", "^")},
    "casei": compile_casei,
    "accenti": reject_accenti,
}
