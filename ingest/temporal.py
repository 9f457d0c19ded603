"""A layer's time: which column(s) ``datetime=`` filters on, and the extent they span.

Chosen by option (``--datetime-field``, or ``--datetime-start-field`` with
``--datetime-end-field`` for intervals), refused with ``--no-datetime``, or else
detected among the date and date-time columns that hold values, by this rule:

1. a start/end pair named like ``begin``/``end``, ``start``/``end`` (KML's TimeSpan);
2. else the column whose name is earliest in ``PREFERRED`` (observed, time, datetime,
   date, timestamp, 采集时间, 监测时间, 观测时间, 时间, 日期, …), compared without case;
3. else a column whose name contains time/date/时间/日期;
4. else the first date-time column, then the first date column, in file order.

When several columns qualified, the choice and the rule that made it are reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
import pyarrow as pa
from psycopg import sql

from ingest.datetimes import TimeColumns, is_text, plan_time_columns
from ingest.schema import describe_fields
from layers.catalog import FieldInfo
from layers.errors import IngestError, InvalidParameter

PREFERRED = (
    "observed", "observed_at", "observation_time", "time", "datetime", "date_time",
    "date", "timestamp", "采集时间", "监测时间", "观测时间", "时间", "日期",
)  # fmt: skip
CONTAINS = ("time", "date", "时间", "日期")
PAIRS = (
    ("begin", "end"), ("start", "end"), ("start_time", "end_time"),
    ("开始时间", "结束时间"), ("起始时间", "终止时间"),
)  # fmt: skip
TEMPORAL_TYPES = ("timestamp", "date")


@dataclass(frozen=True)
class TimeOptions:
    """What the caller said about the layer's time."""

    field: str | None = None
    start_field: str | None = None
    end_field: str | None = None
    disabled: bool = False
    naive_timezone: str = "Asia/Shanghai"

    def check(self) -> None:
        """Options that contradict each other are the caller's mistake (400)."""
        if self.disabled and (self.field or self.start_field or self.end_field):
            raise InvalidParameter("--no-datetime cannot be combined with a datetime field")
        if self.field and (self.start_field or self.end_field):
            raise InvalidParameter(
                "give either --datetime-field or the --datetime-start-field/"
                "--datetime-end-field pair, not both"
            )
        if bool(self.start_field) != bool(self.end_field):
            raise InvalidParameter("--datetime-start-field and --datetime-end-field go together")
        try:
            ZoneInfo(self.naive_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidParameter(
                f"naive timezone {self.naive_timezone!r} is not an IANA time zone, "
                "e.g. Asia/Shanghai or UTC"
            ) from None

    @property
    def named(self) -> tuple[str, ...]:
        return tuple(n for n in (self.field, self.start_field, self.end_field) if n)


@dataclass(frozen=True)
class TemporalChoice:
    """The column (or start/end pair) a layer's ``datetime`` filter uses."""

    field: str  # SQL name of the instant, or of the interval's start
    end_field: str | None
    how: str  # "option" or the detection rule that chose it
    candidates: tuple[str, ...] = ()

    def report(self, extent: tuple[datetime | None, datetime | None]) -> dict[str, Any]:
        return {
            "field": self.field,
            "end_field": self.end_field,
            "from": self.how,
            "candidates": list(self.candidates),
            "extent": [None if t is None else t.isoformat() for t in extent],
        }


def named_columns(options: TimeOptions, fields: Sequence[FieldInfo]) -> list[str]:
    """The source column of each field an option names (by its source or SQL name)."""
    return [_field_named(given, fields).source_name for given in options.named]


def _field_named(given: str, fields: Sequence[FieldInfo]) -> FieldInfo:
    for f in fields:
        if given.lower() in (f.source_name.lower(), f.name):
            return f
    raise IngestError(
        f"datetime field '{given}' is not a column of this file; it has: "
        + ", ".join(f.source_name for f in fields)
    )


def choose_temporal(
    fields: Sequence[FieldInfo], counts: Mapping[str, int], options: TimeOptions
) -> TemporalChoice | None:
    """The layer's time column(s), by option or by the module's rule (None: no time)."""
    if options.disabled:
        return None
    if options.named:
        return _chosen_by_option(fields, options)
    usable = [f for f in fields if f.type in TEMPORAL_TYPES and counts.get(f.name, 0) > 0]
    if not usable:
        return None
    names = tuple(f.name for f in usable)
    if len(usable) == 1:
        return TemporalChoice(usable[0].name, None, "the only date/time column", names)
    return _by_rule(usable, names)


def _chosen_by_option(fields: Sequence[FieldInfo], options: TimeOptions) -> TemporalChoice:
    def sql_name(given: str) -> str:
        field = _field_named(given, fields)
        if field.type not in TEMPORAL_TYPES:
            raise IngestError(
                f"datetime field '{given}' is a column of {field.type}s, not of dates or date-times"
            )
        return field.name

    if options.field:
        return TemporalChoice(sql_name(options.field), None, "option")
    assert options.start_field and options.end_field  # checked by TimeOptions.check
    return TemporalChoice(sql_name(options.start_field), sql_name(options.end_field), "option")


def _by_rule(usable: list[FieldInfo], names: tuple[str, ...]) -> TemporalChoice:
    by_name = {(f.source_name or f.name).lower(): f for f in usable}
    for start, end in PAIRS:
        if start in by_name and end in by_name:
            pair = (by_name[start].name, by_name[end].name)
            return TemporalChoice(*pair, f"start/end pair named {start}/{end}", names)
    for preferred in PREFERRED:
        if preferred in by_name:
            return TemporalChoice(by_name[preferred].name, None, f"named '{preferred}'", names)
    for part in CONTAINS:
        named = [f for f in usable if part in (f.source_name or f.name).lower()]
        if named:
            return TemporalChoice(named[0].name, None, f"first name containing '{part}'", names)
    first = next((f for f in usable if f.type == "timestamp"), usable[0])
    return TemporalChoice(first.name, None, f"first {first.type} column", names)


def ambiguity_warning(choice: TemporalChoice) -> str | None:
    if len(choice.candidates) < 2 or choice.how == "option":
        return None
    chosen = choice.field + (f"/{choice.end_field}" if choice.end_field else "")
    return (
        f"several date/time columns ({', '.join(choice.candidates)}); datetime filters use "
        f"'{chosen}' ({choice.how}); choose another with --datetime-field"
    )


def index_and_extent(
    conn: psycopg.Connection, table: sql.Identifier, choice: TemporalChoice
) -> tuple[datetime | None, datetime | None]:
    """A btree index on each time column, then the earliest and latest time (by index)."""
    columns = [choice.field] + ([choice.end_field] if choice.end_field else [])
    for column in columns:
        conn.execute(sql.SQL("CREATE INDEX ON {} ({})").format(table, sql.Identifier(column)))
    start, end = sql.Identifier(choice.field), sql.Identifier(choice.end_field or choice.field)
    row = conn.execute(
        sql.SQL("SELECT min({}), max({}), max({}) FROM {}").format(start, end, start, table)
    ).fetchone()
    assert row is not None
    latest = [t for t in (_instant(row[1]), _instant(row[2])) if t is not None]
    return _instant(row[0]), max(latest) if latest else None


def _instant(value: date | datetime | None) -> datetime | None:
    """A date as its midnight (UTC), so the catalog's extent is always an instant."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


class LayerTime:
    """One load's time handling: typed columns, value counts, and the final choice."""

    def __init__(
        self, options: TimeOptions, *, untyped_format: bool, keep_text: frozenset[str] = frozenset()
    ) -> None:
        self.options = options
        self.untyped_format = untyped_format
        self.keep_text = keep_text  # text columns found not to be dates after all
        self.columns = TimeColumns({})
        self.counts: dict[str, int] = {}
        self.choice: TemporalChoice | None = None
        self.extent: tuple[datetime | None, datetime | None] = (None, None)
        self._named: list[str] = []
        self._has_text = False

    def start(self, schema: pa.Schema) -> None:
        """Check the named fields exist (before anything is written)."""
        self._named = named_columns(self.options, describe_fields(schema))
        self._has_text = any(is_text(f.type) for f in schema)

    @property
    def needs_first_batch(self) -> bool:
        """Text columns may be dates: the first batch decides (untyped formats, named fields)."""
        detect = self.untyped_format and not self.options.disabled
        return self._has_text and (detect or bool(self._named))

    def plan(self, schema: pa.Schema, first: pa.RecordBatch | None) -> pa.Schema:
        """The attribute schema as stored, with its date and date-time columns typed."""
        detect = self.untyped_format and not self.options.disabled
        self.columns = plan_time_columns(
            schema,
            first,
            detect=detect,
            forced=self._named,
            keep_text=self.keep_text,
            naive_timezone=self.options.naive_timezone,
        )
        return self.columns.schema(schema)

    def apply(self, table: pa.RecordBatch, first_row: int) -> pa.RecordBatch:
        typed = self.columns.apply(table, first_row)
        for f in typed.schema:
            if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type):
                column = typed.column(f.name)
                self.counts[f.name] = self.counts.get(f.name, 0) + len(column) - column.null_count
        return typed

    def finish(
        self, conn: psycopg.Connection, table: sql.Identifier, fields: Sequence[FieldInfo]
    ) -> None:
        """Choose the layer's time column(s), index them and measure their extent."""
        by_sql_name = {f.name: self.counts.get(f.source_name, 0) for f in fields}
        self.choice = choose_temporal(fields, by_sql_name, self.options)
        if self.choice is not None:
            self.extent = index_and_extent(conn, table, self.choice)

    def report(self) -> dict[str, Any] | None:
        detected = list(self.columns.detected)
        if self.options.disabled:
            return {"field": None, "from": "--no-datetime"}
        if self.choice is None:
            return None
        found = self.choice.report(self.extent)
        if detected:
            found["typed_from_text"] = detected
        found["naive_timezone"] = self.options.naive_timezone
        return found
