"""The tile producer, its cache sweeps and overviews after catalog changes, and the purge
of edited features' tiles."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import partial

from layers.catalog import Catalog
from ogc.state import AppState, cancel_all
from tiles.cache import TileCache
from tiles.plan import TilePlan
from tiles.purge import EditPurger, remake
from tiles.service import TileProducer


@contextlib.asynccontextmanager
async def tile_producer(state: AppState) -> AsyncIterator[None]:
    """The producer; after each catalog change, a sweep of old versions' cached tiles and
    the overviews of new versions (background tasks, cancelled on shutdown)."""
    assert state.pool is not None and state.store is not None
    pool = state.pool
    cache = TileCache(state.settings.tiles_dir, best_effort=True)
    producer = TileProducer(pool, cache, state.settings.gzip_level, state.admission, state.reads)

    builds: set[asyncio.Task[None]] = set()

    def after_change(catalog: Catalog) -> None:
        versions = {layer.id: layer.cache_version for layer in catalog}
        state.background.spawn(asyncio.to_thread(producer.cache.sweep, versions), "tile-sweep")
        build = producer.overviews.build_missing(pool, list(catalog))
        task = state.background.spawn(build, "tile-overviews")
        builds.add(task)
        task.add_done_callback(builds.discard)

    purger = EditPurger(producer, state.purge_listeners)

    async def before_change(serving: Catalog, loaded: Catalog) -> None:
        for done in await purger.after_edits(serving, loaded):
            state.background.spawn(remake(producer, done, partial(_tile_plan, state)), "remake")

    state.tile_producer = producer
    unsubscribe = state.store.on_change(after_change)
    unprepare = state.store.before_change(before_change)
    try:
        yield
    finally:
        unprepare()
        unsubscribe()
        await cancel_all(builds)  # a build in progress rolls back; the pool closes after
        state.tile_producer = None


def _tile_plan(state: AppState, layer_id: str) -> TilePlan | None:
    """The tile plan of ``layer_id`` in the snapshot served now (None: gone)."""
    planned = state.snapshot.layers.get(layer_id) if state.snapshot is not None else None
    return planned.tiles if planned is not None else None
