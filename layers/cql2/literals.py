"""Turning the literal strings of both encodings into typed values.

These helpers raise ``ValueError`` with a short reason; each parser wraps it in
``InvalidParameter`` with the position (text) or JSON path where it happened.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import numpy
import shapely
import shapely.errors
import shapely.geometry

from layers.cql2.nodes import Geometry

OPEN_END = ".."

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# RFC 3339 date-time; CQL2 asks for 'Z', offsets are accepted as well.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?")


def parse_date(text: str) -> date:
    """Parse DATE('YYYY-MM-DD')'s string."""
    if not _DATE.fullmatch(text):
        raise ValueError(f"'{text}' is not a date; write it as YYYY-MM-DD, e.g. '2024-06-30'")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a valid date ({exc})") from None


def parse_timestamp(text: str) -> datetime:
    """Parse TIMESTAMP('...')'s string; a missing zone is read as UTC."""
    if not _TIMESTAMP.fullmatch(text):
        raise ValueError(
            f"'{text}' is not a timestamp; write it as RFC 3339 in UTC, e.g. '2024-06-30T08:00:00Z'"
        )
    try:
        parsed = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a valid timestamp ({exc})") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_instant(text: str) -> date | datetime:
    """Parse an interval bound given as a string: a date or a timestamp."""
    return parse_date(text) if len(text) == len("YYYY-MM-DD") else parse_timestamp(text)


def check_number(value: float) -> float:
    """Reject NaN and infinities, which have no CQL2 spelling and break comparisons."""
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond float range
        finite = False
    if not finite:
        raise ValueError(f"{value} is not a finite number")
    return value


def check_text(value: str) -> str:
    """Reject NUL characters: PostgreSQL text cannot hold them."""
    if "\x00" in value:
        raise ValueError("character literals cannot contain NUL (\\u0000)")
    return value


def geometry_from_wkt(wkt: str) -> Geometry:
    """Parse a WKT geometry literal (coordinates in the filter CRS's axis order)."""
    try:
        geometry = shapely.from_wkt(wkt)
    except shapely.errors.ShapelyError as exc:
        raise ValueError(f"invalid WKT geometry {_shorten(wkt)}: {exc}") from None
    return _checked(geometry)


def geometry_from_geojson(obj: Mapping[str, Any]) -> Geometry:
    """Parse a GeoJSON geometry object (as used by CQL2-JSON)."""
    try:
        geometry = shapely.geometry.shape(obj)
    except (
        shapely.errors.ShapelyError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        RecursionError,
    ) as exc:
        raise ValueError(f"invalid GeoJSON geometry: {exc}") from None
    return _checked(geometry)


MAX_COLLECTION_NESTING = 8  # PostGIS refuses deeply chained collections at run time


def _checked(geometry: Any) -> Geometry:
    if _collection_depth(geometry) > MAX_COLLECTION_NESTING:
        raise ValueError(
            f"geometry collections may nest at most {MAX_COLLECTION_NESTING} levels deep"
        )
    coordinates = shapely.get_coordinates(geometry, include_z=bool(shapely.has_z(geometry)))
    if not numpy.isfinite(coordinates).all():
        raise ValueError("geometry coordinates must be finite numbers")
    return Geometry(wkb=shapely.to_wkb(geometry, include_srid=False))


def _collection_depth(geometry: Any, depth: int = 0) -> int:
    if geometry.geom_type != "GeometryCollection" or depth > MAX_COLLECTION_NESTING:
        return depth
    return max((_collection_depth(part, depth + 1) for part in geometry.geoms), default=depth + 1)


def _shorten(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
