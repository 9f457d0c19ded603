"""Reading a time-enabled readings layer for the monitoring series: its temporal field,
a window in China Standard Time, and each station's county."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd

from layers.catalog import Layer
from layers.errors import InvalidParameter
from spatial.context import Context
from spatial.errors import PUNCTUAL, about
from spatial.impact import unit_codes
from spatial.inputs import LayerInput, read_collection, read_layer, vector_layer

CHINA = ZoneInfo("Asia/Shanghai")
Window = tuple[datetime | None, datetime | None]


def parse_window(text: str | None) -> Window:
    """``start/end`` (RFC 3339; ``..`` or empty: open). A date is a whole CST day (the end
    date included), a date-time without an offset is CST, as ingest reads them."""
    if text is None:
        return None, None
    start_text, slash, end_text = text.partition("/")
    if not slash:
        raise ValueError(f"{text[:60]!r} is not an interval; write start/end, e.g. 2025-06-01/..")
    start, end = _instant(start_text, False), _instant(end_text, True)
    if start is not None and end is not None and start >= end:
        raise ValueError(f"{text[:60]!r} ends before it starts")
    return start, end


def _instant(text: str, is_end: bool) -> datetime | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    try:
        if "T" not in text.upper():
            day = date.fromisoformat(text) + timedelta(days=1 if is_end else 0)
            return datetime.combine(day, time(), CHINA)
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise ValueError(
            f"{text[:60]!r} is not an RFC 3339 date or date-time, e.g. 2025-06-01"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=CHINA)


def timed_layer(ctx: Context, spec: LayerInput) -> tuple[Layer, str]:
    """The readings layer and its temporal field (a timestamp), else a 400 naming the input."""
    layer = vector_layer(ctx, spec)
    field = layer.field(layer.temporal_field) if layer.temporal_field else None
    with about(spec.input_name):
        if field is None or field.type != "timestamp":
            raise InvalidParameter(
                f"'{layer.id}' is not time-enabled with date-times (its temporal field is "
                f"{layer.temporal_field or 'none'}); give a layer of timed readings"
            )
    return layer, field.name


def read_window(
    ctx: Context, spec: LayerInput, time_field: str, window: Window
) -> gpd.GeoDataFrame:
    """The readings inside the window (start included, end excluded), the input's own
    filter and area kept."""
    bounds = [
        f"\"{time_field}\" {op} TIMESTAMP('{moment.astimezone(CHINA).isoformat()}')"
        for op, moment in ((">=", window[0]), ("<", window[1]))
        if moment is not None
    ]
    if spec.filter:
        bounds.append(f"({spec.filter})")
    narrowed = spec.model_copy(update={"filter": " AND ".join(bounds) or None})
    return read_layer(ctx, narrowed, geometry=PUNCTUAL)


def station_counties(
    ctx: Context, readings: gpd.GeoDataFrame, station_field: str, county_field: str | None
) -> pd.Series:
    """Station id → 6-digit county code: the readings' own ``county_field``, else the county
    (of the admin county layer) each station's first reading lies in."""
    first = readings.drop_duplicates(station_field)
    first = first.set_index(first[station_field].astype(str))
    if county_field is not None:
        own: pd.Series = first[county_field].astype(str)
        return own
    counties = read_collection(ctx, ctx.admin_layers.county)
    located: pd.Series = pd.Series(
        unit_codes(first.geometry, counties, "adcode"), index=first.index
    )
    return located
