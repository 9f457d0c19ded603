"""The ranked search statement over the caller's searchable layers, and its rows.

Each layer contributes up to four tiers, each at most ``limit`` rows read from an index:
exact (the name's key, or the adcode, equals the query), prefix (btree on the key, or the
adcode), substring and similar (pg_trgm GIN). Ranking across layers: tier, administrative
units before other features, similarity, adcode, shorter names.

A trigram index cannot serve a query of one or two characters, and it extracts nothing
from CJK text when the database's LC_CTYPE does not call those characters alphanumeric (the
C locale; C.UTF-8, the embedded cluster's, does): there a substring or similarity match
would scan the table. So for such queries a layer of more than ``SCAN_ROWS`` features is
matched by exact and prefix only, and a smaller one by a bounded scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from layers.catalog import Layer
from layers.features.query import AdminArea
from layers.features.render import Binder
from layers.features.where import area_condition, bbox_condition, like_escape, within_condition
from layers.platform import DATA_SCHEMA
from layers.search.index import SEARCH_SCHEMA, search_sql, source_sql
from layers.search.params import SearchRequest

SCAN_ROWS = 50_000  # layers up to this size may be scanned for short or untrigrammable keys
TRIGRAM = 3
WINDOW = 1000  # candidates a tier reads per layer before keeping the best few
SHORTEST = sql.SQL("length(w.key), w.key")


@dataclass(frozen=True)
class Target:
    """One layer to search, as the caller sees it."""

    layer: Layer  # the gate's view (no field the caller may not read)
    field: str  # the searched text field
    adcode: str | None  # the code field of an administrative layer, else None
    level: str | None  # province / city / county for administrative layers
    table: str | None  # its built search table; None: read the version table
    clip: bytes | None = None  # an area-limited caller's areas (EWKB), else None


@dataclass(frozen=True)
class Hit:
    target: Target
    fid: int
    name: str
    adcode: str | None
    point: tuple[float, float]
    bbox: tuple[float, float, float, float]


@dataclass(frozen=True)
class Probe:
    key: str  # the query as names are keyed (onemap.search_key)
    cjk_trigrams: bool  # whether pg_trgm extracts trigrams from CJK text here


async def probe(conn: psycopg.AsyncConnection[Any], q: str) -> Probe:
    row = await (await conn.execute(search_sql("probe"), {"q": q})).fetchone()
    assert row is not None
    return Probe(key=row[0] or "", cjk_trigrams=bool(row[1]))


async def run_search(
    conn: psycopg.AsyncConnection[Any],
    targets: Sequence[Target],
    request: SearchRequest,
    area: AdminArea | None,
) -> list[Hit]:
    """The ranked hits of ``request`` in ``targets`` (restricted to ``area`` if given)."""
    found = await probe(conn, request.q)
    if not targets or not found.key:
        return []
    binder = Binder(literal=False)
    parts = [
        part
        for index, target in enumerate(targets)
        for part in _tiers(index, target, request, found, area, binder)
    ]
    if not parts:
        return []
    statement = sql.SQL(search_sql("ranked")).format(
        parts=sql.SQL(" UNION ALL ").join(parts), limit=binder.value(request.limit)
    )
    cursor = await conn.execute(statement, binder.bound, prepare=False)
    return [_hit(targets, row) for row in await cursor.fetchall()]


def _hit(targets: Sequence[Target], row: tuple[Any, ...]) -> Hit:
    layer, fid, name, adcode, x, y, minx, miny, maxx, maxy = row
    target = targets[layer]
    return Hit(
        target, fid, name, adcode if target.adcode else None, (x, y), (minx, miny, maxx, maxy)
    )


@dataclass(frozen=True)
class Tier:
    rank: int  # 0 exact, 1 prefix, 2 substring, 3 similar
    match: sql.Composable
    window_order: sql.Composable  # how the window is read (an index order), or nothing
    order: sql.Composable = field(default_factory=lambda: SHORTEST)  # the best of the window


def _tiers(
    index: int,
    target: Target,
    request: SearchRequest,
    found: Probe,
    area: AdminArea | None,
    binder: Binder,
) -> list[sql.Composable]:
    key, escaped = found.key, like_escape(found.key)
    prefix = binder.value(escaped + "%")
    tiers = [
        Tier(0, sql.SQL("s.key = {}").format(binder.value(key)), sql.SQL("")),
        Tier(
            1,
            sql.SQL("s.key LIKE {} AND s.key <> {}").format(prefix, binder.value(key)),
            sql.SQL("ORDER BY s.key "),
        ),
    ]
    if target.adcode and request.code:
        tiers += _code_tiers(request.code, binder)
    if _substrings_allowed(target, found):
        inner = binder.value(f"%{escaped}%")
        tiers.append(
            Tier(
                2, sql.SQL("s.key LIKE {} AND s.key NOT LIKE {}").format(inner, prefix), sql.SQL("")
            )
        )
        if len(key) >= TRIGRAM:
            similar = sql.SQL("s.key %% {} AND s.key NOT LIKE {}").format(binder.value(key), inner)
            by_score = sql.SQL("ORDER BY similarity(s.key, {}) DESC ").format(binder.value(key))
            best = sql.SQL("similarity(w.key, {}) DESC, length(w.key), w.key").format(
                binder.value(key)
            )
            tiers.append(Tier(3, similar, by_score, best))
    filters = _filters(target, request, area, binder)
    return [
        sql.SQL(search_sql("tier")).format(
            layer=sql.Literal(index),
            admin=sql.Literal(target.level is not None),
            tier=sql.Literal(tier.rank),
            key=binder.value(key),
            source=_source(target),
            match=tier.match,
            filters=filters,
            window_order=tier.window_order,
            window=sql.Literal(WINDOW),
            order=tier.order,
            limit=binder.value(request.limit),
        )
        for tier in tiers
    ]


def _code_tiers(code: str, binder: Binder) -> list[Tier]:
    exact = Tier(0, sql.SQL("s.adcode = {}").format(binder.value(code)), sql.SQL(""))
    prefix = Tier(
        1,
        sql.SQL("s.adcode LIKE {} AND s.adcode <> {}").format(
            binder.value(code + "%"), binder.value(code)
        ),
        sql.SQL("ORDER BY s.adcode "),
        sql.SQL("w.adcode"),
    )
    return [exact, prefix] if len(code) == 6 else [prefix]


def _substrings_allowed(target: Target, found: Probe) -> bool:
    """Substring and similarity tiers: from the trigram index when it can serve the key,
    else only by scanning a small layer."""
    if target.layer.feature_count <= SCAN_ROWS:
        return True
    indexable = found.key.isascii() or found.cjk_trigrams
    return len(found.key) >= TRIGRAM and indexable


def _source(target: Target) -> sql.Composable:
    if target.table is not None:
        return sql.Identifier(SEARCH_SCHEMA, target.table)
    return sql.SQL("({})").format(source_sql(target.layer, target.field, target.adcode))


def _filters(
    target: Target, request: SearchRequest, area: AdminArea | None, binder: Binder
) -> sql.Composable:
    """bbox (the representative point inside it), adcode (the point inside the unit, as
    ``within=``) and an area-limited caller's clip (the feature's geometry intersects their
    areas, as on every other path)."""
    found: list[sql.Composable] = []
    if request.bbox is not None:
        found.append(bbox_condition(target.layer, request.bbox, binder))
    if area is not None:
        found.append(within_condition(area, binder))
    if target.clip is not None:
        inside = area_condition(sql.SQL("t.geom"), binder.value(target.clip))
        found.append(
            sql.SQL("EXISTS (SELECT 1 FROM {} AS t WHERE t.fid = s.fid AND {})").format(
                sql.Identifier(DATA_SCHEMA, target.layer.table_name), inside
            )
        )
    return sql.SQL("").join(sql.SQL(" AND ") + part for part in found)
