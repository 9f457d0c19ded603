"""Date and date-time columns typed on load, column-wise in Arrow.

GDAL hands over the date-times it recognises (GeoJSON, CSV, GeoPackage, …) as ISO-8601
text (``datetime_as_string``): Arrow's own timestamps cannot hold a column whose values
carry different offsets, and GDAL drops a CSV's offsets. Text columns of untyped formats
(GeoJSON, CSV, KML, Shapefile) whose values all read as ISO-8601 dates or date-times are
typed here as well.

Every date-time is stored as an instant (``timestamptz``). A value with an offset (``Z``,
``+08:00``) is exact; a value without one is **read as China Standard Time**
(``Asia/Shanghai``, UTC+08:00, the time of every Chinese source that omits it) unless
the run names another zone. A column of dates only is stored as ``date``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from functools import partial

import pyarrow as pa
import pyarrow.compute as pc

from layers.errors import IngestError

NAIVE_TIMEZONE = "Asia/Shanghai"
GDAL_TYPE_KEY = b"GDAL:OGR:type"
UTC_MICROS = pa.timestamp("us", tz="UTC")
# Formats whose text columns may hold dates nobody declared (their types are guesses).
UNTYPED_FORMATS = frozenset(
    {".geojson", ".json", ".geojsonl", ".geojsons", ".csv", ".txt", ".kml", ".kmz", ".shp", ".dbf"}
)
# What departments write for "no value" in a date column.
NULL_MARKERS = ("", "-", "--", "/", "N/A", "NA", "NULL", "NONE", "NAN", "无", "空")

_DATE = r"\d{4}-\d{2}-\d{2}"
_OFFSET = r"(Z|[+-]\d{2}(:?\d{2})?)"
ISO_DATE = f"^{_DATE}$"
ISO_DATETIME = rf"^{_DATE}([T ]\d{{2}}:\d{{2}}(:\d{{2}}([.,]\d+)?)?{_OFFSET}?)?$"
HAS_OFFSET = rf"[T ].*{_OFFSET}$"


class TextAfterAll(IngestError):
    """A text column typed from its first features holds a non-date further on.

    The load is then run again with that column kept as text (``ingest.pipeline``).
    """

    def __init__(self, column: str, value: object, feature: int) -> None:
        super().__init__(
            f"column '{column}' holds ISO-8601 dates in the first features, but feature "
            f"{feature} has {value!r}; it is kept as text"
        )
        self.column = column


@dataclass(frozen=True)
class TimeColumns:
    """Which attribute columns become dates or date-times, and how to convert a batch."""

    kinds: Mapping[str, str]  # source column name → "date" | "timestamp"
    detected: tuple[str, ...] = ()  # text columns typed because every value was ISO-8601
    naive_timezone: str = NAIVE_TIMEZONE
    forced: frozenset[str] = frozenset()  # named by an option: a bad value is the user's

    def schema(self, schema: pa.Schema) -> pa.Schema:
        for name, kind in self.kinds.items():
            index = schema.get_field_index(name)
            arrow_type = pa.date32() if kind == "date" else UTC_MICROS
            schema = schema.set(index, pa.field(name, arrow_type))
        return schema

    def apply(self, table: pa.RecordBatch, first_row: int = 0) -> pa.RecordBatch:
        """The batch with its date/date-time columns typed (``first_row``: for messages)."""
        if not self.kinds:
            return table
        columns = list(table.columns)
        for name, kind in self.kinds.items():
            index = table.schema.get_field_index(name)
            columns[index] = self._convert(name, columns[index], kind, first_row)
        return pa.RecordBatch.from_arrays(columns, schema=self.schema(table.schema))

    def _convert(self, name: str, column: pa.Array, kind: str, first_row: int) -> pa.Array:
        if pa.types.is_timestamp(column.type) and column.type.tz is None:
            local = pc.assume_timezone(
                column, self.naive_timezone, ambiguous="earliest", nonexistent="latest"
            )
            return local.cast(UTC_MICROS)
        if not is_text(column.type):
            return column.cast(pa.date32() if kind == "date" else UTC_MICROS)
        if name not in self.detected and name not in self.forced:
            with suppress(pa.ArrowInvalid):  # GDAL's own ISO-8601: no need to check it
                return to_instant(column, self.naive_timezone)
        text = blank_to_null(column)
        bad = pc.invert(pc.match_substring_regex(text, ISO_DATETIME))
        bad_at = pc.index(pc.fill_null(bad, False), True).as_py()
        convert = to_date if kind == "date" else partial(to_instant, tz=self.naive_timezone)
        try:
            if bad_at < 0:
                return convert(text)
        except pa.ArrowInvalid:
            bad_at = _first_unparsable(text, convert)
        raise self._bad_value(name, column[bad_at].as_py(), first_row + bad_at + 1)

    def _bad_value(self, name: str, value: object, feature: int) -> IngestError:
        if name in self.forced:
            return IngestError(
                f"datetime field '{name}': feature {feature} has {value!r}, which is not an "
                "ISO-8601 date or date-time (e.g. 2024-06-01 or 2024-06-01T08:00:00+08:00)"
            )
        if name in self.detected:
            return TextAfterAll(name, value, feature)
        return IngestError(f"date-time column '{name}': feature {feature} has {value!r}")


def is_text(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))


def blank_to_null(text: pa.Array) -> pa.Array:
    """Strip the values; the usual "no value" markers become NULL."""
    text = pc.utf8_upper(pc.utf8_trim_whitespace(text))
    marker = pc.is_in(text, value_set=pa.array(NULL_MARKERS, text.type))
    return pc.if_else(marker, pa.scalar(None, text.type), text)


def to_date(text: pa.Array) -> pa.Array:
    return pc.cast(text, pa.date32())


def to_instant(text: pa.Array, tz: str) -> pa.Array:
    """ISO-8601 text as UTC instants: offsets honoured, the rest read in zone ``tz``."""
    text = pc.replace_substring(text, ",", ".")  # a decimal comma, as ISO 8601 allows
    aware = pc.fill_null(pc.match_substring_regex(text, HAS_OFFSET), False)
    none = pa.scalar(None, text.type)
    exact = pc.cast(pc.if_else(aware, text, none), UTC_MICROS)
    local = pc.cast(pc.if_else(aware, none, text), pa.timestamp("us"))
    local = pc.assume_timezone(local, tz, ambiguous="earliest", nonexistent="latest")
    return pc.coalesce(exact, local.cast(UTC_MICROS))


def _first_unparsable(text: pa.Array, convert: Callable[[pa.Array], pa.Array]) -> int:
    """The index of the first value Arrow cannot read (e.g. 2024-13-01): the slow way."""
    for index in range(len(text)):
        try:
            convert(text.slice(index, 1))
        except pa.ArrowInvalid:
            return index
    return 0


def iso_kind(column: pa.Array) -> str | None:
    """ "date" or "timestamp" when every value given reads as ISO-8601, else None."""
    text = blank_to_null(column)
    if text.null_count == len(text):
        return None
    if pc.all(pc.match_substring_regex(text, ISO_DATE)).as_py():
        kind, convert = "date", to_date
    elif pc.all(pc.match_substring_regex(text, ISO_DATETIME)).as_py():
        kind, convert = "timestamp", partial(to_instant, tz="UTC")
    else:
        return None
    try:
        convert(text)
    except pa.ArrowInvalid:  # shaped like a date, but not one (2024-02-30)
        return None
    return kind


def gdal_datetimes(schema: pa.Schema) -> list[str]:
    """Columns GDAL recognised as date-times (handed over as text, see the module doc)."""
    return [
        f.name
        for f in schema
        if (f.metadata or {}).get(GDAL_TYPE_KEY) == b"DateTime" or pa.types.is_timestamp(f.type)
    ]


def plan_time_columns(
    schema: pa.Schema,
    first: pa.RecordBatch | None,
    *,
    detect: bool = True,
    forced: Iterable[str] = (),
    keep_text: Iterable[str] = (),
    naive_timezone: str = NAIVE_TIMEZONE,
) -> TimeColumns:
    """Decide the typed columns from the schema and (``detect``: untyped formats) the
    first batch; ``forced`` text columns (named by an option) are typed whatever it holds."""
    kinds = {name: "timestamp" for name in gdal_datetimes(schema)}
    forced_set, keep = frozenset(forced), frozenset(keep_text)
    detected = []
    for name in schema.names:
        column_type = schema.field(name).type
        if name in kinds or name in keep or not is_text(column_type):
            continue
        if name in forced_set:
            kinds[name] = (iso_kind(first.column(name)) if first else None) or "timestamp"
        elif detect and first is not None and (kind := iso_kind(first.column(name))):
            kinds[name] = kind
            detected.append(name)
    return TimeColumns(kinds, tuple(detected), naive_timezone, forced_set)
