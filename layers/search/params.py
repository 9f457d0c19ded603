"""``/search`` query parameters (strings) → a ``SearchRequest``, with 400s naming them.

Framework-free, as ``layers.features.params``; the web layer turns ``layers=`` ids into
layers through the gate and ``adcode=`` into an administrative area.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from layers.crs import DEFAULT as CRS84
from layers.errors import InvalidParameter
from layers.features import params as p
from layers.features.query import BBox

PARAMETERS = frozenset({"q", "limit", "bbox", "adcode", "layers", "f", "tk"})
MAX_QUERY = 100
DEFAULT_LIMIT, MAX_LIMIT = 10, 50
COUNTRY_CODE = "156"  # GB/T 2659 numeric code of China: 156440106 = 156 + 440106
_DIGITS = re.compile(r"[0-9]{2,9}")


@dataclass(frozen=True)
class SearchRequest:
    q: str  # trimmed, as typed
    limit: int
    bbox: BBox | None = None
    adcode: str | None = None  # 6 digits: only features inside that unit
    layers: tuple[str, ...] | None = None  # None: every searchable layer
    code: str | None = None  # q as an administrative code (prefix), 9-digit form removed


def search_request(parameters: Mapping[str, str]) -> SearchRequest:
    p.reject_nul(parameters)
    unknown = sorted(k for k in parameters if k not in PARAMETERS)
    if unknown:
        raise InvalidParameter(
            f"unknown query parameter(s) {', '.join(map(repr, unknown))}; /search takes "
            f"{', '.join(sorted(PARAMETERS))}"
        )
    get = parameters.get
    q = parse_query(get("q"))
    return SearchRequest(
        q=q,
        limit=parse_search_limit(get("limit")),
        bbox=_bbox(get("bbox")),
        adcode=parse_unit_code(get("adcode")),
        layers=parse_layer_ids(get("layers")),
        code=query_code(q),
    )


def parse_query(text: str | None) -> str:
    q = (text or "").strip()
    if not q:
        raise InvalidParameter("q is required: a place name (天河区, 天河) or an adcode (440106)")
    if len(q) > MAX_QUERY:
        raise InvalidParameter(f"q must be at most {MAX_QUERY} characters, got {len(q)}")
    return q


def parse_search_limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    if not text.strip().isascii() or not text.strip().isdigit():
        raise InvalidParameter(f"limit must be an integer from 1 to {MAX_LIMIT}, got {text[:20]!r}")
    value = int(text)
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidParameter(f"limit must be from 1 to {MAX_LIMIT}, got {value}")
    return value


def _bbox(text: str | None) -> BBox | None:
    bbox = p.parse_bbox(text, CRS84)
    if bbox is None:
        return None
    minx, miny, maxx, maxy = bbox.bounds
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidParameter(
            "bbox must be minx,miny,maxx,maxy in CRS84 degrees (longitudes -180..180, "
            "latitudes -90..90, miny <= maxy)"
        )
    return bbox


def parse_unit_code(text: str | None) -> str | None:
    """``adcode=440106`` (or the 9-digit form 156440106): the unit results must lie in."""
    if text is None:
        return None
    code = text.strip()
    if len(code) == 9 and code.startswith(COUNTRY_CODE):
        code = code[len(COUNTRY_CODE) :]
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise InvalidParameter(
            f"adcode must be a 6-digit administrative code (440106) or its 9-digit form "
            f"(156440106), got {text[:20]!r}"
        )
    return code


def parse_layer_ids(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    ids = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids:
        raise InvalidParameter("layers must name at least one collection id (comma-separated)")
    return ids


def query_code(q: str) -> str | None:
    """``q`` read as an adcode or adcode prefix (2–6 digits, or 156 + 6 digits)."""
    if not _DIGITS.fullmatch(q):
        return None
    if len(q) == 9:
        return q[len(COUNTRY_CODE) :] if q.startswith(COUNTRY_CODE) else None
    return q if len(q) <= 6 else None
