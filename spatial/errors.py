"""Input checks shared by the analyses; each message says what to change."""

from __future__ import annotations

from collections.abc import Iterable

from layers.errors import InvalidParameter
from spatial.geodesy import MAX_BUFFER_M

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
