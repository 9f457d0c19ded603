"""Administrative areas a caller is limited to, as adcode prefixes (GB/T 2260).

``44`` is the province, ``4401`` Guangzhou, ``440106`` Tianhe district. A full six-digit code
of a province or city (``440000``, ``440100``) names that whole area, so its trailing ``00``
pairs are dropped: a token carrying the unit's own code means what it says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ADCODE_PREFIX = re.compile(r"[0-9]{2,6}")


def area_prefix(value: str) -> str:
    """One adcode prefix in its canonical form; ValueError for anything else."""
    if not ADCODE_PREFIX.fullmatch(value):
        raise ValueError("an area must be an adcode prefix of 2 to 6 digits")
    prefix = value
    while len(prefix) > 2 and prefix.endswith("00") and len(prefix) % 2 == 0:
        prefix = prefix[:-2]
    return prefix


def area_prefixes(values: Iterable[str]) -> tuple[str, ...]:
    """Canonical, sorted prefixes without one inside another (``44`` covers ``4401``), so
    callers limited to the same area share a cache scope."""
    prefixes = sorted({area_prefix(value) for value in values})
    return tuple(p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes))
