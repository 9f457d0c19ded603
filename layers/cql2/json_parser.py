"""CQL2 JSON → syntax tree (``layers.cql2.nodes``).

Written here rather than taken from pygeofilter 0.4, whose cql2-json parser
expects the pre-1.0 ``between`` form, maps t_intersects to t_overlaps and
lacks t_disjoint. Operator names are lower-cased (``t_metBy`` → ``t_metby``,
``isNull`` → ``isnull``) to match the text parser; arity and types are checked
by the compiler, for both encodings at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from layers.cql2 import literals
from layers.cql2.nodes import MAX_NESTING, Array, BBox, Interval, Node, Op, Property, Value
from layers.errors import InvalidParameter

_Raw = TypeVar("_Raw")
_Result = TypeVar("_Result")

JsonFilter = str | bytes | Mapping[str, Any] | bool


def parse_json(document: JsonFilter) -> Node:
    """Parse a CQL2 JSON filter given as JSON text or as already-decoded JSON."""
    data: Any = document
    if isinstance(document, str | bytes):
        try:
            data = json.loads(document, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            raise InvalidParameter(f"invalid cql2-json filter: not valid JSON ({exc})") from None
    return _node(data, "$", 0)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in JSON")


def _error(path: str, problem: str) -> InvalidParameter:
    return InvalidParameter(f"invalid cql2-json filter at {path}: {problem}")


def _node(value: Any, path: str, depth: int) -> Node:
    if depth > MAX_NESTING:
        raise _error(path, f"the filter nests more than {MAX_NESTING} levels")
    if isinstance(value, bool):
        return Value(value)
    if isinstance(value, int | float):
        return Value(_checked(literals.check_number, value, path))
    if isinstance(value, str):
        return Value(_checked(literals.check_text, value, path))
    if isinstance(value, list):
        return Array(tuple(_node(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)))
    if isinstance(value, Mapping):
        return _object(value, path, depth)
    raise _error(path, f"{json.dumps(value)} is not a CQL2 expression")


def _object(obj: Mapping[str, Any], path: str, depth: int) -> Node:
    if "op" in obj:
        return _operation(obj, path, depth)
    if "property" in obj:
        name = obj["property"]
        if not isinstance(name, str) or not name:
            raise _error(f"{path}.property", "a property name must be a non-empty string")
        return Property(name)
    if "date" in obj:
        return Value(_checked(literals.parse_date, _string(obj["date"], f"{path}.date"), path))
    if "timestamp" in obj:
        text = _string(obj["timestamp"], f"{path}.timestamp")
        return Value(_checked(literals.parse_timestamp, text, path))
    if "interval" in obj:
        return _interval(obj["interval"], f"{path}.interval", depth)
    if "bbox" in obj:
        return _bbox(obj["bbox"], f"{path}.bbox")
    if "type" in obj:
        return _checked(literals.geometry_from_geojson, obj, path)
    raise _error(
        path,
        f"unrecognised object with keys {sorted(obj)}; expected op/args, property, date, "
        "timestamp, interval, bbox or a GeoJSON geometry",
    )


def _operation(obj: Mapping[str, Any], path: str, depth: int) -> Op:
    name, args = obj["op"], obj.get("args")
    if not isinstance(name, str) or not name:
        raise _error(f"{path}.op", "op must be a non-empty string")
    if not isinstance(args, list):
        raise _error(f"{path}.args", f"'{name}' needs an args array")
    nodes = (_node(arg, f"{path}.args[{i}]", depth + 1) for i, arg in enumerate(args))
    return Op(name.lower(), tuple(nodes))


def _interval(bounds: Any, path: str, depth: int) -> Interval:
    if not isinstance(bounds, list) or len(bounds) != 2:
        example = '["2024-01-01", ".."]'
        raise _error(path, f'an interval is an array of two instants or "..", e.g. {example}')
    start, end = (_interval_bound(bound, f"{path}[{i}]", depth) for i, bound in enumerate(bounds))
    return Interval(start, end)


def _interval_bound(bound: Any, path: str, depth: int) -> Node | None:
    if not isinstance(bound, str):
        return _node(bound, path, depth + 1)  # a property or a function
    if bound == literals.OPEN_END:
        return None
    return Value(_checked(literals.parse_instant, bound, path))


def _bbox(bounds: Any, path: str) -> BBox:
    numbers = bounds if isinstance(bounds, list) else []
    if len(numbers) not in (4, 6) or not all(_is_number(n) for n in numbers):
        raise _error(path, "a bbox is an array of 4 or 6 numbers")
    return BBox(tuple(_checked(literals.check_number, float(n), path) for n in numbers))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _error(path, "expected a string")
    return value


def _checked(convert: Callable[[_Raw], _Result], raw: _Raw, path: str) -> _Result:
    try:
        return convert(raw)
    except ValueError as exc:
        raise _error(path, str(exc)) from None
