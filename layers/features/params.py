"""Items query parameters (strings) → typed request values, with 400 messages.

Web-framework free: the router passes the raw parameters as a mapping.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from layers.catalog import Layer
from layers.errors import InvalidParameter
from layers.features.query import BBox, CrsInfo, Keyset, SortKey, TimeRange

ADCODE = re.compile(r"^\d{6}$")


def parse_limit(text: str | None, *, default: int, maximum: int) -> int:
    """Page size; above the maximum is clamped (Part 1 allows it), below 1 is a 400."""
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidParameter(f"limit must be an integer, got {text!r}") from None
    if value < 1:
        raise InvalidParameter(f"limit must be at least 1, got {value}")
    return min(value, maximum)


def parse_offset(text: str | None) -> int:
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise InvalidParameter(f"offset must be an integer, got {text!r}") from None
    if value < 0:
        raise InvalidParameter(f"offset must not be negative, got {value}")
    return value


def parse_bbox(text: str | None, crs: CrsInfo) -> BBox | None:
    """4 or 6 numbers in ``crs``'s axis order (6: the elevations are dropped)."""
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InvalidParameter(
            f"bbox must be 4 or 6 comma-separated numbers, got {text!r}"
        ) from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4:
        raise InvalidParameter(f"bbox must have 4 or 6 numbers, got {len(values)}")
    if any(v != v or v in (float("inf"), float("-inf")) for v in values):
        raise InvalidParameter("bbox numbers must be finite")
    return BBox((values[0], values[1], values[2], values[3]), crs)


def parse_datetime(text: str | None) -> TimeRange | None:
    """RFC 3339 instants and intervals with open ends (``..`` or empty).

    A date alone covers that whole day (UTC).
    """
    if text is None:
        return None
    if "/" not in text:
        instant = _instant(text, "datetime")
        if instant is None:
            raise InvalidParameter("datetime '..' is only valid as an end of an interval")
        if isinstance(instant, datetime):
            return TimeRange(instant, instant)
        return TimeRange(_day_start(instant), _day_start(instant + timedelta(days=1)), True)
    start_text, _, end_text = text.partition("/")
    start, end = _instant(start_text, "start"), _instant(end_text, "end")
    end_exclusive = False
    if isinstance(start, date) and not isinstance(start, datetime):
        start = _day_start(start)
    if isinstance(end, date) and not isinstance(end, datetime):
        end, end_exclusive = _day_start(end + timedelta(days=1)), True
    if start is not None and end is not None and (start >= end if end_exclusive else start > end):
        raise InvalidParameter(f"datetime interval {text!r} ends before it starts")
    return TimeRange(start, end, end_exclusive)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _instant(text: str, what: str) -> datetime | date | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    try:
        if "T" in text.upper():
            value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(
            f"datetime {what} {text!r} is not RFC 3339, e.g. 2024-06-30 or 2024-06-30T08:00:00Z"
        ) from None


def parse_sortby(text: str | None, layer: Layer) -> tuple[SortKey, ...]:
    """``sortby=-name,+adcode`` (Part 1 sorting extension style)."""
    if not text:
        return ()
    keys = []
    for item in text.split(","):
        item = item.strip()
        descending = item.startswith("-")
        name = item.lstrip("+-").strip()
        if name == "id":
            continue  # fid is always the final tie-breaker
        if layer.field(name) is None:
            raise InvalidParameter(
                f"sortby: collection '{layer.id}' has no property {name!r}; "
                f"sortable: {', '.join(layer.field_names)}"
            )
        keys.append(SortKey(name, descending))
    return tuple(keys)


def parse_properties(text: str | None, layer: Layer) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if layer.field(n) is None]
    if unknown:
        raise InvalidParameter(
            f"properties: unknown {', '.join(map(repr, unknown))}; "
            f"collection '{layer.id}' has: {', '.join(layer.field_names)}"
        )
    return names


def parse_boolean(text: str | None, name: str) -> bool:
    if text is None:
        return False
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise InvalidParameter(f"{name} must be true or false, got {text!r}")


def parse_q(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    terms = tuple(t.strip() for t in text.split(",") if t.strip())
    if not terms:
        raise InvalidParameter("q needs at least one search term, e.g. q=天河")
    return terms


def parse_adcode(text: str) -> str:
    if not ADCODE.fullmatch(text):
        raise InvalidParameter(f"within needs a 6-digit administrative code, got {text!r}")
    return text


def encode_keyset(values: tuple[Any, ...]) -> str:
    """A page token: the fid alone, or base64url JSON of the sort values and fid."""
    if len(values) == 1:
        return str(values[0])
    raw = json.dumps(list(values), ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_keyset(text: str, sort: tuple[SortKey, ...], *, backwards: bool) -> Keyset:
    name = "before" if backwards else "after"
    if not sort:
        if not text.lstrip("-").isdigit():
            raise InvalidParameter(f"{name} must be a feature id from a next/prev link")
        return Keyset((int(text),), backwards)
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidParameter(f"{name} is not a page token from a next/prev link") from None
    valid = isinstance(values, list) and len(values) == len(sort) + 1
    if not valid or not isinstance(values[-1], int):
        raise InvalidParameter(f"{name} does not match sortby; follow the next/prev links as given")
    return Keyset(tuple(values), backwards)
