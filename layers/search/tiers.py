"""The SQL of one layer's part of a search: its tiers, or one scan for a small layer.

Tiers: exact (the name's key, or the adcode, equals the query), prefix (btree on the key in
code-point order, ``~<~``, so the window is read straight off the index), substring and
similar (pg_trgm GIN). Each reads a window of at most ``WINDOW`` candidates (exact and
prefix in key order, substrings and similar names as the index yields them) and keeps the
``limit`` shortest (the most similar for the similar tier): bounded work per request,
however common the name.

A trigram index cannot serve a query of one or two characters, and it extracts nothing
from CJK text when the database's LC_CTYPE does not call those characters alphanumeric (the
C locale; C.UTF-8, the embedded cluster's, does): there a substring or similarity match
would scan the table. So for such queries a layer of more than ``SCAN_ROWS`` features is
matched by exact and prefix only. A layer of at most ``SMALL_ROWS`` is read in one scan
(planning four index queries costs more than reading a few thousand keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from psycopg import sql

from layers.features.query import AdminArea
from layers.features.render import Binder
from layers.features.where import area_condition, bbox_condition, like_escape, within_condition
from layers.platform import DATA_SCHEMA
from layers.search.index import SEARCH_SCHEMA, search_sql, source_sql
from layers.search.params import SearchRequest

if TYPE_CHECKING:
    from layers.search.execute import Target

SCAN_ROWS = 50_000  # layers up to this size may be scanned for short or untrigrammable keys
SMALL_ROWS = 5_000  # layers up to this size are matched in one scan, not a query per tier
TRIGRAM = 3
WINDOW = 200  # candidates a tier reads per layer before keeping the best few
SHORTEST = sql.SQL("length(w.key), w.key")


@dataclass(frozen=True)
class Wanted:
    """One statement's request: the query's key, its filters, and whether similar names
    are matched (the second statement, when the first found too few)."""

    request: SearchRequest
    key: str
    cjk_trigrams: bool
    area: AdminArea | None
    similar: bool
    binder: Binder = field(default_factory=lambda: Binder(literal=False))

    def value(self, value: object) -> sql.Composable:
        return self.binder.value(value)


@dataclass(frozen=True)
class Tier:
    rank: int  # 0 exact, 1 prefix, 2 substring, 3 similar
    match: sql.Composable
    window_order: sql.Composable  # how the window is read (an index order), or nothing
    order: sql.Composable = field(default_factory=lambda: SHORTEST)  # the best of the window


def parts(index: int, target: Target, wanted: Wanted) -> list[sql.Composable]:
    """The layer's exact, prefix and substring matches, or with ``wanted.similar`` its
    similar names only (the second statement)."""
    if wanted.similar:
        allowed = len(wanted.key) >= TRIGRAM and _substrings_allowed(target, wanted)
        return [_tier(index, target, wanted, _similar(wanted))] if allowed else []
    if target.layer.feature_count <= SMALL_ROWS:
        return [_scan(index, target, wanted)]
    return [_tier(index, target, wanted, tier) for tier in _tiers(target, wanted)]


def _scan(index: int, target: Target, wanted: Wanted) -> sql.Composable:
    key, escaped = wanted.key, like_escape(wanted.key)
    exact = sql.SQL("s.key = {}").format(wanted.value(key))
    prefix = sql.SQL("s.key LIKE {}").format(wanted.value(escaped + "%"))
    inner = sql.SQL("s.key LIKE {}").format(wanted.value(f"%{escaped}%"))
    matches: sql.Composable = inner
    code = wanted.request.code
    if target.adcode and code:
        exact = sql.SQL("({} OR s.adcode = {})").format(exact, wanted.value(code))
        code_prefix = sql.SQL("s.adcode LIKE {}").format(wanted.value(code + "%"))
        prefix = sql.SQL("({} OR {})").format(prefix, code_prefix)
        matches = sql.SQL("({} OR {})").format(inner, code_prefix)
    return sql.SQL(search_sql("scan")).format(
        layer=sql.Literal(index),
        admin=sql.Literal(target.level is not None),
        exact=exact,
        prefix=prefix,
        inner=inner,
        matches=matches,
        key=wanted.value(key),
        source=_source(target),
        filters=_filters(target, wanted),
        limit=wanted.value(wanted.request.limit),
    )


def _tier(index: int, target: Target, wanted: Wanted, tier: Tier) -> sql.Composable:
    return sql.SQL(search_sql("tier")).format(
        layer=sql.Literal(index),
        admin=sql.Literal(target.level is not None),
        tier=sql.Literal(tier.rank),
        key=wanted.value(wanted.key),
        source=_source(target),
        match=tier.match,
        filters=_filters(target, wanted),
        window_order=tier.window_order,
        window=sql.Literal(WINDOW),
        order=tier.order,
        limit=wanted.value(wanted.request.limit),
    )


def _tiers(target: Target, wanted: Wanted) -> list[Tier]:
    key, escaped = wanted.key, like_escape(wanted.key)
    prefix = wanted.value(escaped + "%")
    found = [
        Tier(0, sql.SQL("s.key = {}").format(wanted.value(key)), sql.SQL("")),
        Tier(
            1,
            sql.SQL("s.key LIKE {} AND s.key <> {}").format(prefix, wanted.value(key)),
            sql.SQL("ORDER BY s.key USING ~<~ "),
        ),
    ]
    if target.adcode and wanted.request.code:
        found += _code_tiers(wanted.request.code, wanted)
    if not _substrings_allowed(target, wanted):
        return found
    inner = wanted.value(f"%{escaped}%")
    substring = sql.SQL("s.key LIKE {} AND s.key NOT LIKE {}").format(inner, prefix)
    return [*found, Tier(2, substring, sql.SQL(""))]


def _similar(wanted: Wanted) -> Tier:
    """Names sharing enough trigrams that contain no substring match. The window is the
    first candidates the index yields, not the most similar of all: a long common name has
    tens of thousands of similar ones in a large layer."""
    key = wanted.value(wanted.key)
    inner = wanted.value(f"%{like_escape(wanted.key)}%")
    similar = sql.SQL("s.key %% {} AND s.key NOT LIKE {}").format(key, inner)
    best = sql.SQL("similarity(w.key, {}) DESC, length(w.key), w.key").format(key)
    return Tier(3, similar, sql.SQL(""), best)


def _code_tiers(code: str, wanted: Wanted) -> list[Tier]:
    exact = Tier(0, sql.SQL("s.adcode = {}").format(wanted.value(code)), sql.SQL(""))
    prefix = Tier(
        1,
        sql.SQL("s.adcode LIKE {} AND s.adcode <> {}").format(
            wanted.value(code + "%"), wanted.value(code)
        ),
        sql.SQL("ORDER BY s.adcode "),
        sql.SQL("w.adcode"),
    )
    return [exact, prefix] if len(code) == 6 else [prefix]


def _substrings_allowed(target: Target, wanted: Wanted) -> bool:
    """Substring and similarity tiers: from the trigram index when it can serve the key,
    else only by scanning a layer of at most ``SCAN_ROWS``."""
    if target.layer.feature_count <= SCAN_ROWS:
        return True
    indexable = wanted.key.isascii() or wanted.cjk_trigrams
    return len(wanted.key) >= TRIGRAM and indexable


def _source(target: Target) -> sql.Composable:
    if target.table is not None:
        return sql.Identifier(SEARCH_SCHEMA, target.table)
    return sql.SQL("({})").format(source_sql(target.layer, target.field, target.adcode))


def _filters(target: Target, wanted: Wanted) -> sql.Composable:
    """bbox (the representative point inside it), adcode (the point inside the unit, as
    ``within=``) and an area-limited caller's clip (the feature's geometry intersects their
    areas, as on every other path)."""
    found: list[sql.Composable] = []
    if wanted.request.bbox is not None:
        found.append(bbox_condition(target.layer, wanted.request.bbox, wanted.binder))
    if wanted.area is not None:
        found.append(within_condition(wanted.area, wanted.binder))
    if target.clip is not None:
        inside = area_condition(sql.SQL("t.geom"), wanted.value(target.clip))
        found.append(
            sql.SQL("EXISTS (SELECT 1 FROM {} AS t WHERE t.fid = s.fid AND {})").format(
                sql.Identifier(DATA_SCHEMA, target.layer.table_name), inside
            )
        )
    return sql.SQL("").join(sql.SQL(" AND ") + part for part in found)
