"""``?queryable=value`` parameters on ``/items`` (Part 3, queryables-query-parameters).

Each parameter named after a simple-valued queryable becomes an equality
condition, typed by the queryable, so it compiles through ``compile_filter``
like any other filter tree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from layers.cql2 import literals
from layers.cql2.nodes import Node, Op, Property, ScalarValue, Value
from layers.cql2.queryables import Queryable
from layers.errors import InvalidParameter


def _boolean(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError("expected true or false")
    return text.lower() == "true"


def _number(text: str) -> float:
    return literals.check_number(float(text))


_PARSERS: dict[str, Callable[[str], ScalarValue]] = {
    "string": literals.check_text,
    "integer": int,
    "number": _number,
    "boolean": _boolean,
    "date": literals.parse_date,
    "timestamp": literals.parse_timestamp,
}


def query_parameters_filter(
    parameters: Mapping[str, str], queryables: Mapping[str, Queryable]
) -> Node | None:
    """The AND of ``queryable = value`` for each parameter that names a queryable.

    Other parameters (limit, bbox, filter, ...) are ignored; None when no
    parameter names a queryable. Geometry queryables take no query parameter.
    """
    conditions: list[Node] = []
    for name, text in parameters.items():
        queryable = queryables.get(name)
        if queryable is None or queryable.type == "geometry":
            continue
        conditions.append(Op("=", (Property(name), Value(_typed(queryable, text)))))
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else Op("and", tuple(conditions))


def _typed(queryable: Queryable, text: str) -> ScalarValue:
    try:
        return _PARSERS[queryable.type](text.strip() if queryable.type != "string" else text)
    except ValueError as exc:
        raise InvalidParameter(
            f"query parameter {queryable.name}={text!r} is not a valid {queryable.type} ({exc})"
        ) from None
