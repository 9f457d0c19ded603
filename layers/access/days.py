"""Quota days: calendar days in China Standard Time, whatever the server's time zone."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, timezone

# Asia/Shanghai has been UTC+08:00 without daylight saving since 1991: a fixed offset is
# exact for every date a quota is counted on and needs no time-zone database.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


def utc_now() -> datetime:
    return datetime.now(UTC)


def shanghai_day(at: datetime) -> date:
    """The Asia/Shanghai calendar day ``at`` (an aware date-time) falls on."""
    return at.astimezone(SHANGHAI).date()


def next_midnight(at: datetime) -> datetime:
    """The next Asia/Shanghai midnight after ``at``: when daily quotas start again."""
    return datetime.combine(shanghai_day(at) + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def seconds_until_next_day(at: datetime) -> int:
    """Whole seconds (at least 1) until the next Asia/Shanghai midnight, for ``Retry-After``."""
    return max(1, math.ceil((next_midnight(at) - at).total_seconds()))
