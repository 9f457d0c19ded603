"""What a client asked of a collection's items, validated and typed.

These values carry no SQL; ``layers.features.page`` turns them into a
statement. The web layer builds them from query parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg import sql

from layers.crs import CrsInfo


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class Keyset:
    """Where a page starts: the sort key values (then fid) of the row before it.

    ``backwards`` pages end just before that row (the ``prev`` link).
    """

    values: tuple[Any, ...]
    backwards: bool = False


@dataclass(frozen=True)
class BBox:
    """A bbox in ``crs`` axis order as the client wrote it (4 numbers; z dropped)."""

    bounds: tuple[float, float, float, float]
    crs: CrsInfo


@dataclass(frozen=True)
class TimeRange:
    """A closed range; None is an open end. An instant has start == end."""

    start: date | datetime | None
    end: date | datetime | None
    end_exclusive: bool = False


@dataclass(frozen=True)
class AdminArea:
    """``within=<adcode>``: the administrative layer table that holds the area."""

    table: str
    adcode: str


@dataclass(frozen=True)
class AreaClip:
    """The union of an area-limited caller's areas: features must intersect it.

    ``geometry`` is EWKB in the storage CRS, read once per catalog snapshot and set of areas
    (``ogc.plans.Snapshot.areas``) and bound with each statement; an empty geometry when the
    areas match no administrative unit, so such a caller sees nothing."""

    areas: tuple[str, ...]
    geometry: bytes


@dataclass(frozen=True)
class ItemsQuery:
    """A validated items request (selection, order, paging and output shape)."""

    limit: int
    output_crs: CrsInfo
    offset: int = 0
    keyset: Keyset | None = None
    bbox: BBox | None = None
    time: TimeRange | None = None
    text: tuple[str, ...] = ()  # q terms, matched (OR) against the name fields
    within: AdminArea | None = None
    prefixes: Sequence[tuple[str, str]] = ()  # adcode=4403* style: field starts with
    condition: sql.Composable | None = None  # compiled CQL2 / property equality (literals)
    sort: tuple[SortKey, ...] = ()
    properties: tuple[str, ...] | None = None  # None: every field
    skip_geometry: bool = False
    map_detail: int | None = None  # HTML maps: each geometry simplified to 1/n of its extent
    clip: AreaClip | None = None  # an area-limited caller's areas (layers.access.rules)

    @property
    def filtered(self) -> bool:
        """True when rows are selected (so the catalog's count is not the answer)."""
        return bool(
            self.bbox or self.time or self.text or self.within or self.prefixes
            or self.condition is not None or self.clip is not None
        )  # fmt: skip
