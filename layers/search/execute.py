"""The ranked search over the caller's searchable layers, and its rows.

Each layer contributes its tiers (``layers.search.tiers``); across layers the ranking is
tier (exact name or adcode, prefix, substring, similar), administrative units before other
features, similarity, adcode, shorter names (``sql/ranked.sql``). Similar names rank last,
so they are looked for only when the other tiers found fewer than ``limit`` (and never for
an adcode): a second statement ranks them alone and they follow the first one's hits — the
answer a single statement would give, without its cost when the first tiers suffice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from layers.catalog import Layer
from layers.features.query import AdminArea
from layers.search.index import search_sql
from layers.search.params import SearchRequest
from layers.search.tiers import TRIGRAM, Wanted, parts

# Similar names share at least 40 % of their trigrams (pg_trgm's default, 30 %, lets a long
# common name match tens of thousands of rows; one typo in a 7-character name keeps ~45 %).
SIMILARITY = "SET LOCAL pg_trgm.similarity_threshold = 0.4"


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


async def run_search(
    conn: psycopg.AsyncConnection[Any],
    targets: Sequence[Target],
    request: SearchRequest,
    area: AdminArea | None,
) -> list[Hit]:
    """The ranked hits of ``request`` in ``targets`` (restricted to ``area`` if given)."""
    row = await (await conn.execute(search_sql("probe"), {"q": request.q})).fetchone()
    assert row is not None
    key, cjk_trigrams = row[0] or "", bool(row[1])
    if not targets or not key:
        return []
    hits = await _ranked(conn, targets, Wanted(request, key, cjk_trigrams, area, similar=False))
    if len(hits) < request.limit and len(key) >= TRIGRAM and request.code is None:
        async with conn.transaction():
            await conn.execute(SIMILARITY)
            wanted = Wanted(request, key, cjk_trigrams, area, similar=True)
            hits += (await _ranked(conn, targets, wanted))[: request.limit - len(hits)]
    return hits


async def _ranked(
    conn: psycopg.AsyncConnection[Any], targets: Sequence[Target], wanted: Wanted
) -> list[Hit]:
    found = [part for index, target in enumerate(targets) for part in parts(index, target, wanted)]
    if not found:
        return []
    statement = sql.SQL(search_sql("ranked")).format(
        parts=sql.SQL(" UNION ALL ").join(found), limit=wanted.value(wanted.request.limit)
    )
    cursor = await conn.execute(statement, wanted.binder.bound, prepare=False)
    return [_hit(targets, row) for row in await cursor.fetchall()]


def _hit(targets: Sequence[Target], row: tuple[Any, ...]) -> Hit:
    layer, fid, name, adcode, x, y, minx, miny, maxx, maxy = row
    target = targets[layer]
    code = adcode if target.adcode else None
    return Hit(target, fid, name, code, (x, y), (minx, miny, maxx, maxy))
