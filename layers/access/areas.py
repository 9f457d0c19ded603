"""Administrative areas a caller is limited to, as adcode prefixes (GB/T 2260).

``44`` is the province, ``4401`` Guangzhou, ``440106`` Tianhe district. A full six-digit code
of a province or city (``440000``, ``440100``) names that whole area, so its trailing ``00``
pairs are dropped: a token carrying the unit's own code means what it says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql

from layers.access.sqlfiles import access_sql
from layers.catalog import Catalog
from layers.platform import DATA_SCHEMA, STORAGE_SRID, AdminLayers

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


def admin_layer_for(prefix: str, admin: AdminLayers) -> str:
    """The administrative layer whose units a prefix selects: ``44`` the province, ``4401``
    (or ``440``) cities, ``440106`` (or ``44010``) counties."""
    if len(prefix) <= 2:
        return admin.province
    return admin.city if len(prefix) <= 4 else admin.county


def area_union_sql(
    catalog: Catalog, admin: AdminLayers, areas: Iterable[str]
) -> tuple[sql.Composed, list[str]]:
    """The EWKB of the union of the units the prefixes select (an empty geometry when they
    select none, or the administrative layers are not published: such a caller sees nothing).
    Prefixes are bound; the table names come from the catalog."""
    selections: list[sql.Composable] = []
    patterns: list[str] = []
    for prefix in areas:
        layer = catalog.layers.get(admin_layer_for(prefix, admin))
        if layer is None or layer.field("adcode") is None:
            continue
        selections.append(
            sql.SQL("SELECT geom FROM {} WHERE adcode LIKE %s").format(
                sql.Identifier(DATA_SCHEMA, layer.table_name)
            )
        )
        patterns.append(prefix + "%")
    if not selections:
        selections.append(sql.SQL("SELECT NULL::geometry AS geom"))
    statement = sql.SQL(access_sql("area_union").decode()).format(
        selections=sql.SQL(" UNION ALL ").join(selections), srid=sql.Literal(STORAGE_SRID)
    )
    return statement, patterns


async def read_area_union(
    conn: psycopg.AsyncConnection[Any], catalog: Catalog, admin: AdminLayers, areas: Iterable[str]
) -> bytes:
    statement, patterns = area_union_sql(catalog, admin, areas)
    row = await (await conn.execute(statement, patterns)).fetchone()
    assert row is not None
    return bytes(row[0])


def read_area_union_sync(
    conn: psycopg.Connection[Any], catalog: Catalog, admin: AdminLayers, areas: Iterable[str]
) -> bytes:
    """``read_area_union`` on a synchronous connection (a job's session)."""
    statement, patterns = area_union_sql(catalog, admin, areas)
    row = conn.execute(statement, patterns).fetchone()
    assert row is not None
    return bytes(row[0])
