"""The catalog store and what follows each catalog change: search tables, the OpenAPI
document; the listener that loads every change."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from layers.access.caller import ANONYMOUS
from layers.catalog import Catalog
from layers.search.index import SearchIndexes
from layers.watch import CatalogStore, listen_for_changes
from ogc.deps import listed_layers, snapshot_of
from ogc.plans import Snapshot
from ogc.state import AppState, cancel_all

LISTENER_WAIT_S = 10.0  # start-up waits this long for the first catalog, then serves 503s


@contextlib.asynccontextmanager
async def catalog_store(state: AppState) -> AsyncIterator[None]:
    """The store, and its first subscriber: a new ``Snapshot`` (catalog + plans, reusing
    the plans of unchanged layers) for each catalog, so requests read both from one object
    and the later subscribers (the app's own, e.g. the fast layer's hot tiles, then the
    services') already see the snapshot of the catalog they are given."""
    assert state.pool is not None
    state.store = CatalogStore(state.pool, state.reads)

    def replace_snapshot(catalog: Catalog) -> None:
        state.snapshot = Snapshot.of(catalog, state.snapshot)

    subscribers = [replace_snapshot, *state.catalog_subscribers]
    unsubscribers = [state.store.on_change(callback) for callback in subscribers]
    try:
        yield
    finally:
        for unsubscribe in unsubscribers:
            unsubscribe()
        state.store = None
        state.snapshot = None


@contextlib.asynccontextmanager
async def search_indexes(state: AppState) -> AsyncIterator[None]:
    """Place-name search tables of new layer versions, built after each catalog change (one
    background build loop, cancelled on shutdown; ``layers.search.index``)."""
    assert state.pool is not None and state.store is not None
    pool, indexes = state.pool, SearchIndexes(state.settings.admin, state.reads)
    builds: set[asyncio.Task[None]] = set()

    def after_change(catalog: Catalog) -> None:
        task = state.background.spawn(indexes.build_missing(pool, list(catalog)), "search-tables")
        builds.add(task)
        task.add_done_callback(builds.discard)

    state.search = indexes
    unsubscribe = state.store.on_change(after_change)
    try:
        yield
    finally:
        unsubscribe()
        await cancel_all(builds)
        state.search = None


@contextlib.asynccontextmanager
async def openapi(state: AppState) -> AsyncIterator[None]:
    """``/api`` is rebuilt when the catalog changes (in a worker thread, off the event loop),
    not by the first request after it. The routes' part is built once, here."""
    assert state.store is not None and state.openapi is not None
    documents = state.openapi
    documents.base()

    def refresh(catalog: Catalog) -> None:
        snapshot = snapshot_of(state)  # the catalog store's first subscriber built it
        assert snapshot.catalog is catalog
        layers = listed_layers(catalog, ANONYMOUS)
        work = asyncio.to_thread(documents.refresh, snapshot, layers)
        state.background.spawn(work, "openapi-refresh")

    unsubscribe = state.store.on_change(refresh)
    try:
        yield
    finally:
        unsubscribe()


@contextlib.asynccontextmanager
async def catalog_listener(state: AppState) -> AsyncIterator[None]:
    """Loads the catalog as soon as the database answers and again on every change; until
    then /readyz and catalog routes say 503."""
    assert state.store is not None
    state.listener_ready = asyncio.Event()
    task = state.background.spawn(
        listen_for_changes(state.database_url, state.store.reload, ready=state.listener_ready),
        "catalog-listener",
    )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(state.listener_ready.wait(), timeout=LISTENER_WAIT_S)
    try:
        yield
    finally:
        await cancel_all([task])
