"""Durations written the way operators write them: ``7d``, ``12h``, ``90m``, ``3600s``."""

from __future__ import annotations

import re

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
NEVER = ("forever", "never", "off")


def parse_duration_s(text: str) -> float:
    """Seconds in ``text`` (a number with an optional unit s/m/h/d); ValueError otherwise."""
    found = _DURATION.fullmatch(text.lower())
    if found is None:
        raise ValueError(
            f"{text[:40]!r} is not a duration: write a number with s, m, h or d (e.g. 7d)"
        )
    return float(found[1]) * _SECONDS[found[2]]


def parse_retention(value: object) -> object:
    """A retention setting: a duration (text or seconds) of at least a minute, or
    'forever' (None: never purged)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in NEVER):
        return None
    seconds = parse_duration_s(value) if isinstance(value, str) else value
    if isinstance(seconds, int | float) and seconds < 60:
        raise ValueError("a retention shorter than a minute would purge jobs still being read")
    return seconds
