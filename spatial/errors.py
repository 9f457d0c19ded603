"""Input checks shared by the analyses; each message says what to change."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from layers.errors import InvalidParameter
from spatial.geodesy import MAX_BUFFER_M

NAMED = re.compile(r"^[a-z_][\w.\[\]]*: ")  # a message that already names its input
POLYGONAL = ("Polygon", "MultiPolygon")
LINEAR = ("LineString", "MultiLineString")
PUNCTUAL = ("Point", "MultiPoint")


def check_distance_m(name: str, value: float, *, maximum: float = MAX_BUFFER_M) -> float:
    if not value > 0:
        raise InvalidParameter(f"{name} must be a positive distance in metres, got {value}")
    if value > maximum:
        raise InvalidParameter(
            f"{name} of {value:,.0f} m is larger than {maximum:,.0f} m; "
            "give the distance in metres (e.g. 5000 for 5 km)"
        )
    return value


def check_geometry_types(what: str, types: Iterable[str], allowed: tuple[str, ...]) -> None:
    found = sorted({t for t in types if t})
    wrong = [t for t in found if t not in allowed]
    if wrong:
        raise InvalidParameter(
            f"{what} has {', '.join(wrong)} geometries; this analysis needs "
            f"{' or '.join(allowed)} — choose a layer of that geometry type"
        )


@contextmanager
def about(name: str) -> Iterator[None]:
    """A 400 raised inside names the input it is about (``"units: ..."``)."""
    try:
        yield
    except InvalidParameter as exc:
        if not name or NAMED.match(exc.message):
            raise
        raise InvalidParameter(f"{name}: {exc.message}") from None


def check_finite(values: Mapping[str, Any]) -> None:
    """NaN and ±Infinity (which Python's JSON reads) are no input's value: 400 naming where."""
    for where, value in _numbers(values, ""):
        if not math.isfinite(value):
            raise InvalidParameter(
                f"{where}: {value} is not a finite number; JSON numbers only (no NaN or Infinity)"
            )


def _numbers(value: Any, where: str) -> Iterator[tuple[str, float]]:
    if isinstance(value, float):
        yield where, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _numbers(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _numbers(item, f"{where}[{i}]")
