"""Dates and times typed on the command line: ``2025-06-10``, ``2025-06-10T08:00``
(China Standard Time unless an offset is given) or ``30d`` (days from now)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import click

from layers.access.days import SHANGHAI, utc_now

DAYS = re.compile(r"^([0-9]{1,5})d$")


def parse_when(text: str, option: str, *, end_of_day: bool = False) -> datetime:
    """A time zone-aware date-time; a bare date means its start in Asia/Shanghai, or
    (``end_of_day``) the next midnight, so ``--until 2025-06-10`` includes that day."""
    days = DAYS.fullmatch(text.strip())
    if days:
        return utc_now() + timedelta(days=int(days.group(1)))
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip()) + timedelta(days=1 if end_of_day else 0)
            return datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI)
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text[:40]!r} is not a date (2025-06-10), a date-time (2025-06-10T08:00, "
            "China Standard Time unless it has an offset) or a number of days (30d)",
            param_hint=option,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def parse_day(text: str, option: str) -> date:
    return parse_when(text, option).astimezone(SHANGHAI).date()
