"""ISO-8601 text typed in Arrow: the rules of ``ingest.datetimes`` on their own."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from ingest.datetimes import TextAfterAll, iso_kind, plan_time_columns, to_instant
from layers.errors import IngestError

UTC = dt.UTC


def instants(*values: str | None, tz: str = "Asia/Shanghai") -> list[dt.datetime | None]:
    return to_instant(pa.array(values, pa.string()), tz).to_pylist()  # type: ignore[no-any-return]


def test_offsets_are_exact_and_naive_values_take_the_zone() -> None:
    three = dt.datetime(2024, 6, 1, 3, tzinfo=UTC)
    assert instants(
        "2024-06-01T03:00:00Z", "2024-06-01T11:00:00+08:00", "2024-06-01T11:00:00+0800",
        "2024-06-01 11:00:00", "2024-06-01T11:00", None,
    ) == [three, three, three, three, three, None]  # fmt: skip
    assert instants("2024-06-01T03:00:00,5Z") == [three + dt.timedelta(milliseconds=500)]
    assert instants("2024-06-01", tz="UTC") == [dt.datetime(2024, 6, 1, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["2024-06-01", "2024-06-02", None], "date"),
        (["2024-06-01", " 2024-06-02T08:00:00Z ", "N/A", "-", "无", ""], "timestamp"),
        (["2024-06-01", "tomorrow"], None),
        (["2024-02-30"], None),
        (["20240601"], None),
        (["2024/06/01"], None),
        ([None, ""], None),
        (["12:30:00"], None),
    ],
)
def test_which_text_columns_are_dates(values: list[str | None], kind: str | None) -> None:
    assert iso_kind(pa.array(values, pa.string())) == kind


def test_a_planned_column_converts_and_names_a_bad_value() -> None:
    first = pa.record_batch({"seen": ["2024-06-01", "2024-06-02"], "name": ["a", "b"]})
    plan = plan_time_columns(first.schema, first)
    assert dict(plan.kinds) == {"seen": "date"} and plan.detected == ("seen",)
    later = pa.record_batch({"seen": ["2024-06-03", "later"], "name": ["c", "d"]})
    with pytest.raises(TextAfterAll, match="feature 4 has 'later'") as raised:
        plan.apply(later, first_row=2)
    assert raised.value.column == "seen"
    forced = plan_time_columns(later.schema, later, detect=False, forced=["seen"])
    with pytest.raises(IngestError, match="datetime field 'seen': feature 2 has 'later'"):
        forced.apply(later)
    kept = plan_time_columns(first.schema, first, keep_text=["seen"])
    assert dict(kept.kinds) == {}
    off = plan_time_columns(first.schema, first, detect=False)
    assert dict(off.kinds) == {}, "--no-datetime: text stays text"
