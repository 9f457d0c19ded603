"""One search table per searchable layer version, built when the version is published.

A search table (schema ``onemap_search``) holds, per feature, the searched name, its key
(``onemap.search_key``: NFKC, lower case, no spaces), the adcode of an administrative unit,
the representative point (``ST_PointOnSurface``) and the bounding box, with a btree on the
key (``text_pattern_ops``: exact and prefix matches in any collation), a pg_trgm GIN
index (substrings of three or more characters, similarity) and a GiST index on the point
(``bbox=``, ``adcode=``). It is built once per version
and search field, by the app's catalog subscriber (``ogc/services/``) as a background
task — never by a request — in one transaction, under an advisory lock (replicas build it
once between them), registered in ``onemap.search_indexes``; the tables of older versions
are dropped after a build, those of deleted layers on the next catalog change. Until a
version's table is ready its rows are read from the version table (``source_sql``), the
same columns computed on the fly.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Iterable
from importlib import resources
from typing import Any

from psycopg import AsyncConnection, AsyncCursor, sql
from psycopg_pool import AsyncConnectionPool

from layers.catalog import Layer
from layers.platform import DATA_SCHEMA, AdminLayers
from layers.replicas import ReadRouter
from layers.search.fields import adcode_field, search_field

SEARCH_SCHEMA = "onemap_search"
log = logging.getLogger("onemap.search")


@functools.cache
def search_sql(name: str) -> str:
    return (resources.files("layers.search") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


def search_table_name(layer: Layer, field: str) -> str:
    # The layer id and version too: fixture layers may share one version table.
    source = f"{layer.id}/{layer.version}/{layer.table_name}/{field}"
    digest = hashlib.sha1(source.encode()).hexdigest()[:16]
    return f"srch_{digest}"


def source_sql(layer: Layer, field: str, adcode: str | None) -> sql.Composed:
    """The search rows of ``layer``'s version table (``sql/source.sql``)."""
    return sql.SQL(search_sql("source")).format(
        field=sql.Identifier(field),
        adcode=sql.SQL("t.{}").format(sql.Identifier(adcode)) if adcode else sql.NULL,
        table=sql.Identifier(DATA_SCHEMA, layer.table_name),
    )


class SearchIndexes:
    """Which search tables this process knows to exist, and building them for new versions.

    ``build_missing(pool, layers)`` runs on every catalog change; one build loop runs at a
    time and takes the next table from the newest layers it was given, so a version
    superseded meanwhile is skipped. Requests only ask ``table_for``."""

    def __init__(self, admin: AdminLayers, reads: ReadRouter | None = None) -> None:
        self.admin = admin
        self._reads = reads  # a built table is searched on a standby once it has it
        self._ready: set[str] = set()
        self._taken: set[str] = set()
        self._failed: set[str] = set()  # retried on the next catalog change
        self._layers: tuple[Layer, ...] = ()
        self._running = False

    def table_for(self, layer: Layer, field: str) -> str | None:
        """The built search table of ``layer``'s version and ``field``, or None."""
        name = search_table_name(layer, field)
        return name if name in self._ready else None

    def forget(self, name: str) -> None:
        """A table that was dropped under us (a newer version's build elsewhere)."""
        self._ready.discard(name)

    async def build_missing(self, pool: AsyncConnectionPool, layers: Iterable[Layer]) -> None:
        self._layers = tuple(layers)
        # Only the current versions' tables count: after a rollback an older version's
        # table (dropped when its successor was built) is built again.
        wanted = {name for layer in self._layers if (name := _wanted_table(layer)) is not None}
        self._taken = (self._taken - self._failed) & wanted
        self._ready &= wanted
        self._failed.clear()
        if self._running:
            return
        self._running = True
        try:
            await self._sweep(pool)
            while (layer := self._next()) is not None:
                await self._build(pool, layer)
        finally:
            self._running = False

    def _next(self) -> Layer | None:
        for layer in self._layers:
            name = _wanted_table(layer)
            if name is not None and name not in self._taken:
                self._taken.add(name)
                return layer
        return None

    async def _sweep(self, pool: AsyncConnectionPool) -> None:
        """Drop the search tables of deleted layers (a delete changes the catalog too)."""
        try:
            async with pool.connection() as conn, conn.transaction():
                await _drop_all(conn, await conn.execute(search_sql("deleted")))
        except Exception:  # tried again on the next catalog change
            log.exception("dropping the search tables of deleted layers failed")

    async def _build(self, pool: AsyncConnectionPool, layer: Layer) -> None:
        found = search_field(layer)
        assert found is not None
        name = search_table_name(layer, found.name)
        try:
            async with pool.connection() as conn:
                await build_search_table(conn, layer, found.name, adcode_field(layer, self.admin))
                if self._reads is not None:
                    await self._reads.advance(conn)
            self._ready.add(name)
        except Exception:  # searched from the version table meanwhile; retried on a change
            self._failed.add(name)
            log.exception(
                "building search table %s of %s v%s failed", name, layer.id, layer.version
            )


async def _drop_all(conn: AsyncConnection, names: AsyncCursor[Any]) -> None:
    """Drop the search tables ``names`` returns (rows of one table name)."""
    for (name,) in await names.fetchall():
        await conn.execute(
            sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SEARCH_SCHEMA, name))
        )


def _wanted_table(layer: Layer) -> str | None:
    found = search_field(layer)
    return search_table_name(layer, found.name) if found is not None else None


async def build_search_table(
    conn: AsyncConnection, layer: Layer, field: str, adcode: str | None
) -> None:
    """Create, index and register the search table of one layer version (idempotent)."""
    name = search_table_name(layer, field)
    started = time.monotonic()
    async with conn.transaction():
        await conn.execute("SET LOCAL statement_timeout = 0")
        await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
        row = await (
            await conn.execute("SELECT to_regclass(%s)", [f"{SEARCH_SCHEMA}.{name}"])
        ).fetchone()
        if row and row[0]:
            return
        table = sql.Identifier(SEARCH_SCHEMA, name)
        source = source_sql(layer, field, adcode)
        await conn.execute(sql.SQL("CREATE TABLE {} AS ").format(table) + source)
        await conn.execute(sql.SQL("CREATE INDEX ON {} (key text_pattern_ops)").format(table))
        await conn.execute(sql.SQL("CREATE INDEX ON {} USING gin (key gin_trgm_ops)").format(table))
        await conn.execute(sql.SQL("CREATE INDEX ON {} USING gist (geom)").format(table))
        await conn.execute(sql.SQL("ANALYZE {}").format(table))
        count = await (
            await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table))
        ).fetchone()
        await conn.execute(
            search_sql("register"),
            {
                "table_name": name,
                "layer_id": layer.id,
                "version": layer.version,
                "field": field,
                "row_count": count[0] if count else 0,
            },
        )
        stale = await conn.execute(search_sql("stale"), {"layer_id": layer.id, "table_name": name})
        await _drop_all(conn, stale)
    log.info(
        "search table %s of %s v%s built in %.1fs",
        name,
        layer.id,
        layer.version,
        time.monotonic() - started,
    )
