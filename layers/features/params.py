"""Items query parameters (strings) → typed request values, with 400 messages.

Web-framework free: the router passes the raw parameters as a mapping.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from layers.catalog import Layer
from layers.crs import CrsInfo
from layers.errors import InvalidParameter
from layers.features.query import BBox, Keyset, SortKey, TimeRange

ADCODE = re.compile(r"^\d{6}$")
FEATURE_ID = re.compile(r"^[0-9]{1,19}$")  # ASCII digits of a bigint
MAX_BIGINT = 2**63 - 1
MAX_SORT_KEYS = 16


def reject_nul(parameters: Mapping[str, str]) -> None:
    """No parameter may carry a NUL byte (``%00``): PostgreSQL text cannot hold one."""
    for name, value in parameters.items():
        if "\x00" in name or "\x00" in value:
            shown = name.replace("\x00", "%00")[:60]
            raise InvalidParameter(
                f"query parameter {shown!r} ({shown}=…) contains a NUL byte (%00): no value "
                "here holds one"
            )


def parse_feature_id(text: str) -> int | None:
    """A feature id as stored (a positive bigint), or None when ``text`` cannot be one."""
    if not FEATURE_ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_BIGINT else None


def parse_limit(text: str | None, *, default: int, maximum: int) -> int:
    """Page size; above the maximum is clamped (Part 1 allows it), below 1 is a 400."""
    if text is None or text == "":
        return default
    value = _integer(text, "limit")
    if value < 1:
        raise InvalidParameter(f"limit must be at least 1, got {value}")
    return min(value, maximum)


def parse_offset(text: str | None) -> int:
    if not text:
        return 0
    value = _integer(text, "offset")
    if value < 0:
        raise InvalidParameter(f"offset must not be negative, got {value}")
    if value > MAX_BIGINT:
        raise InvalidParameter(f"offset must be at most {MAX_BIGINT}, got {text[:40]!r}")
    return value


def _integer(text: str, name: str) -> int:
    """A decimal integer of at most 40 characters (int() alone takes 4300 digits' time)."""
    try:
        if len(text) > 40:
            raise ValueError(text)
        return int(text)
    except ValueError:
        raise InvalidParameter(f"{name} must be an integer, got {text[:40]!r}") from None


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
        instant = _instant(text, "")
        if instant is None:
            raise InvalidParameter("datetime '..' is only valid as an end of an interval")
        if isinstance(instant, datetime):
            return TimeRange(instant, instant)
        return TimeRange(_day_start(instant), _day_after(instant), True)
    start_text, _, end_text = text.partition("/")
    start, end = _instant(start_text, "start"), _instant(end_text, "end")
    end_exclusive = False
    if isinstance(start, date) and not isinstance(start, datetime):
        start = _day_start(start)
    if isinstance(end, date) and not isinstance(end, datetime):
        end, end_exclusive = _day_after(end), True
    if start is not None and end is not None and (start >= end if end_exclusive else start > end):
        raise InvalidParameter(f"datetime interval {text!r} ends before it starts")
    return TimeRange(start, end, end_exclusive)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _day_after(day: date) -> datetime:
    """The start of the next day; the last representable day ends at its last microsecond."""
    if day == date.max:
        return datetime.max.replace(tzinfo=UTC)
    return _day_start(day + timedelta(days=1))


def _instant(text: str, what: str) -> datetime | date | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    try:
        if "T" in text.upper():
            value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return date.fromisoformat(text)
    except (ValueError, OverflowError):
        raise InvalidParameter(
            f"datetime {what + ' ' if what else ''}{text[:60]!r} is not RFC 3339, "
            "e.g. 2024-06-30 or 2024-06-30T08:00:00Z"
        ) from None


def parse_sortby(text: str | None, layer: Layer) -> tuple[SortKey, ...]:
    """``sortby=-name,+adcode`` (Part 1 sorting extension style)."""
    if not text:
        return ()
    keys: list[SortKey] = []
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
        if any(key.field == name for key in keys):
            continue  # a repeated key adds nothing to the order
        if len(keys) == MAX_SORT_KEYS:
            raise InvalidParameter(f"sortby takes at most {MAX_SORT_KEYS} properties")
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
        fid = parse_feature_id(text)
        if fid is None:
            raise InvalidParameter(f"{name} must be a feature id from a next/prev link")
        return Keyset((fid,), backwards)
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise InvalidParameter(f"{name} is not a page token from a next/prev link") from None
    valid = isinstance(values, list) and len(values) == len(sort) + 1
    if not valid or not _keyset_values_fit(values, sort):
        raise InvalidParameter(f"{name} does not match sortby; follow the next/prev links as given")
    return Keyset(tuple(values), backwards)


def _keyset_values_fit(values: list[Any], sort: tuple[SortKey, ...]) -> bool:
    """Scalars only, and a feature id last; the database checks each value's type."""
    fid = values[-1]
    if isinstance(fid, bool) or not isinstance(fid, int) or not 0 <= fid <= MAX_BIGINT:
        return False
    return all(v is None or isinstance(v, str | int | float) for v in values[:-1])
