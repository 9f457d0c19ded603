"""Keep a process's catalog current: reload when PostgreSQL says it changed.

Every write to ``onemap.layers`` fires ``pg_notify('onemap_catalog', id)`` (see the
migration), so every worker and replica on the database reloads at once, with no
timer. If the listening connection drops, it reconnects and reloads, since
notifications sent while it was away are lost.

Whatever depends on the catalog (the tile cache's sweep, the OpenAPI document, ...)
subscribes with ``CatalogStore.on_change`` and is called with each new snapshot, so
nothing waits for a request to notice that the catalog changed. What must be done *before*
a new snapshot is served (deleting the tiles edits made stale) registers with
``CatalogStore.before_change``: the reload awaits it, so a process never serves a version
whose stale tiles it still holds, and the writer of an edit answers only after it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from layers.catalog import Catalog, load_catalog_async
from layers.db import with_options
from layers.replicas import ReadRouter

CHANNEL = "onemap_catalog"
ChangeCallback = Callable[[Catalog], object]  # a return value is ignored
PrepareCallback = Callable[[Catalog, Catalog], Awaitable[object]]  # (serving, next)
log = logging.getLogger("onemap.catalog")


class CatalogStore:
    """Holds the current catalog snapshot; swapping it is a single assignment, after which
    every subscriber is called with the new snapshot, in the order they subscribed."""

    def __init__(self, pool: AsyncConnectionPool, reads: ReadRouter | None = None) -> None:
        self._pool = pool
        self._reads = reads  # told where the primary was when each snapshot loaded
        self.current = Catalog()
        self.generation = 0
        self._subscribers: list[ChangeCallback] = []
        self._preparers: list[PrepareCallback] = []

    def before_change(self, callback: PrepareCallback) -> Callable[[], None]:
        """Await ``callback(serving, loaded)`` on each reload before ``loaded`` is served.
        Returns a function that unsubscribes it."""
        self._preparers.append(callback)
        return lambda: self._preparers.remove(callback)

    def on_change(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call ``callback(snapshot)`` after each reload (and at once if one is loaded).

        A callback must be quick: slow work (disk, database) goes to a background task.
        Returns a function that unsubscribes it.
        """
        self._subscribers.append(callback)
        if self.loaded:
            self._notify(callback, self.current)
        return lambda: self._subscribers.remove(callback)

    @property
    def loaded(self) -> bool:
        return self.current.loaded_at is not None

    async def reload(self) -> Catalog:
        async with self._pool.connection() as conn:
            snapshot = await load_catalog_async(conn)
            if self._reads is not None:  # before it is served: reads see what it names
                await self._reads.advance(conn)
        for prepare in list(self._preparers):
            try:
                await prepare(self.current, snapshot)
            except Exception:  # like a subscriber: never stop the reload or the listener
                log.exception("catalog preparer %r failed", prepare)
        self.current = snapshot
        self.generation += 1
        log.info("catalog loaded: %d layers (generation %d)", len(snapshot), self.generation)
        for callback in list(self._subscribers):
            self._notify(callback, snapshot)
        return snapshot

    @staticmethod
    def _notify(callback: ChangeCallback, snapshot: Catalog) -> None:
        try:
            callback(snapshot)
        except Exception:  # one failing subscriber must not stop the others or the listener
            log.exception("catalog subscriber %r failed", callback)


async def listen_for_changes(
    database_url: str,
    on_change: Callable[[], Awaitable[object]],
    *,
    ready: asyncio.Event | None = None,
    retry_seconds: float = 2.0,
    channel: str = CHANNEL,
) -> None:
    """LISTEN on ``channel`` (the catalog's by default) forever; call ``on_change`` after
    each burst, and on every (re)connection for what was missed while away."""
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                with_options(database_url), autocommit=True
            ) as conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                await on_change()  # catch up on anything missed while disconnected
                if ready is not None:
                    ready.set()
                while True:
                    async for _ in conn.notifies(stop_after=1):
                        pass  # wait for the first notification of a burst
                    await _drain_burst(conn)
                    await on_change()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep serving the last snapshot; retry the listener
            log.warning("listener on %s lost (%s); retrying in %.0fs", channel, exc, retry_seconds)
            await asyncio.sleep(retry_seconds)


async def _drain_burst(conn: psycopg.AsyncConnection) -> None:
    """One ingest touches several rows; reload once for the whole burst.

    (Generators over one connection must run one after another, never nested.)
    """
    async for _ in conn.notifies(timeout=0.05):
        pass
