"""The per-app services, started in order by the lifespan and stopped in reverse.

    pool → read replicas → readiness probe → admission (of heavy requests)
         → catalog store (the snapshot of catalog + plans, the fast layer's subscribers)
         → tile producer → search tables → OpenAPI subscription → job runner → catalog listener
         → job recovery → retention (jobs, rate windows) → access (API keys, quotas, rate
    limits, audit counts) → identity (bearer tokens) → webhooks (change notifications)

Each step is an async context manager that builds one service onto ``AppState`` and takes it
down again; ``SERVICES`` is the order. Subscribers to catalog changes (the plans of each
snapshot, the tile cache's sweep and the overviews of new versions, the search tables of
new versions, the fast layer's hot
tiles, the OpenAPI document, the road networks of superseded versions) are registered
before the listener loads the first snapshot, so they see every snapshot, the first one
included; slow ones run as background tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from importlib import resources
from pathlib import Path

import psycopg

from layers.access.caller import ANONYMOUS
from layers.access.discovery import http_fetcher
from layers.access.oidc import TokenVerifier
from layers.access.rates import purge_windows
from layers.access.service import AccessService
from layers.access.signin import SignInDirectory
from layers.admission import Admission
from layers.catalog import Catalog
from layers.db import open_pool_lazily, with_options
from layers.probe import DatabaseProbe
from layers.replicas import ReadRouter, replica_of
from layers.search.index import SearchIndexes
from layers.watch import CatalogStore, listen_for_changes
from layers.webhooks.dispatch import CHANNEL as OUTBOX_CHANNEL
from layers.webhooks.dispatch import Dispatcher
from ogc.deps import catalog_of, listed_layers, snapshot_of
from ogc.plans import Snapshot
from ogc.processes.jobs import purge_jobs
from ogc.processes.lease import JobLease
from ogc.processes.runner import JobRunner
from ogc.state import AppState
from spatial.network import drop_superseded_networks
from tiles.cache import TileCache
from tiles.plan import TilePlan
from tiles.purge import EditPurger, remake
from tiles.service import TileProducer

log = logging.getLogger("onemap.app")
ASYNC_TIMEOUT_FACTOR = 10  # asynchronous jobs may run 10× the request statement timeout
LISTENER_WAIT_S = 10.0  # start-up waits this long for the first catalog, then serves 503s
RECOVERY_RETRY_S = 2.0
RETENTION_INTERVAL_S = 600.0  # how often finished jobs past their retention are purged


@contextlib.asynccontextmanager
async def pool(state: AppState) -> AsyncIterator[None]:
    s = state.settings
    state.pool = open_pool_lazily(
        state.database_url,
        min_size=s.pool_min_size,
        max_size=s.pool_max_size,
        statement_timeout_ms=s.statement_timeout_ms,
        acquire_timeout_s=s.pool_acquire_timeout_ms / 1000,
        connect_timeout_s=s.connect_timeout_s,
        slow_query_ms=s.slow_query_ms,
    )
    await state.pool.open(wait=False)  # keeps reconnecting while the database is down
    try:
        yield
    finally:
        await state.pool.close()
        state.pool = None


@contextlib.asynccontextmanager
async def read_replicas(state: AppState) -> AsyncIterator[None]:
    """The pools of ``ONEMAP_READ_DATABASE_URL``'s standbys and their probes (``layers.replicas``);
    with none configured, every read uses the primary pool."""
    assert state.pool is not None
    s = state.settings
    replicas = [
        replica_of(
            url,
            number,
            min_size=s.pool_min_size,
            max_size=s.pool_max_size,
            statement_timeout_ms=s.statement_timeout_ms,
            acquire_timeout_s=s.pool_acquire_timeout_ms / 1000,
            connect_timeout_s=s.connect_timeout_s,
        )
        for number, url in enumerate(s.read_database_url, 1)
    ]
    for replica in replicas:
        await replica.pool.open(wait=False)
    state.reads = ReadRouter(state.pool, replicas)
    task = state.background.spawn(state.reads.watch(), "replica-probes")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        state.reads = None
        for replica in replicas:
            await replica.probe.close()
            await replica.pool.close()


@contextlib.asynccontextmanager
async def readiness(state: AppState) -> AsyncIterator[None]:
    """The database probe ``/readyz`` reads: on its own connection, in the background."""
    probe = DatabaseProbe(state.database_url)
    probe.last = await probe.probe_once()  # known before the first request
    state.probe = probe
    task = state.background.spawn(probe.run(), "database-probe")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        state.probe = None


@contextlib.asynccontextmanager
async def admission(state: AppState) -> AsyncIterator[None]:
    """This worker's bound on heavy requests (``layers.admission``; ONEMAP_HEAVY_*)."""
    s = state.settings
    state.admission = Admission(s.heavy_limit, s.heavy_queue, s.heavy_wait_ms / 1000)
    try:
        yield
    finally:
        state.admission = None


@contextlib.asynccontextmanager
async def access(state: AppState) -> AsyncIterator[None]:
    """API keys on the request path: the lookup cache (dropped on ``onemap_keys``), quota
    and restricted-read counts flushed every second and, on the way out, once more."""
    assert state.pool is not None
    service = AccessService(state.pool, state.database_url, rates=state.callers.rates)
    await service.start()
    state.access = state.callers.keys = service
    try:
        yield
    finally:
        state.access = state.callers.keys = None
        await service.stop()


@contextlib.asynccontextmanager
async def identity(state: AppState) -> AsyncIterator[None]:
    """Bearer tokens: the app's one verifier (it caches the identity provider's keys and
    the tokens it verified), handed to the gate when an issuer is configured; and the
    viewer's sign-in endpoints, read from the provider in the background at start."""
    oidc = state.settings.oidc
    state.callers.verifier = TokenVerifier(oidc) if oidc.enabled else None
    if oidc.viewer_client is not None:
        fetch = http_fetcher(oidc.http_timeout_seconds)
        state.signin = SignInDirectory(oidc, fetch, time.monotonic)
        state.background.spawn(state.signin.endpoints(), "signin-discovery")
    try:
        yield
    finally:
        state.callers.verifier = None
        state.signin = None


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
        for task in list(builds):  # a build in progress rolls back; the pool closes after
            task.cancel()
        await asyncio.gather(*builds, return_exceptions=True)
        state.tile_producer = None


def _tile_plan(state: AppState, layer_id: str) -> TilePlan | None:
    """The tile plan of ``layer_id`` in the snapshot served now (None: gone)."""
    planned = state.snapshot.layers.get(layer_id) if state.snapshot is not None else None
    return planned.tiles if planned is not None else None


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
        for task in list(builds):
            task.cancel()
        await asyncio.gather(*builds, return_exceptions=True)
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
async def job_runner(state: AppState) -> AsyncIterator[None]:
    s = state.settings
    sample_dir = Path(str(resources.files("ingest") / "sample")).resolve()
    state.jobs = JobRunner(
        database_url=state.database_url,
        registry=state.registry,
        catalog=partial(catalog_of, state),
        statement_timeout_ms=s.statement_timeout_ms * ASYNC_TIMEOUT_FACTOR,
        raster_dir=s.raster_dir,
        admin_layers=s.admin,
        raster_roots=(s.data_dir.resolve(), sample_dir),
        lease=JobLease(s.job_lease_s),
    )
    assert state.store is not None
    unsubscribe = state.store.on_change(
        lambda catalog: state.background.spawn(
            asyncio.to_thread(_drop_superseded_networks, state.database_url, catalog),
            "network-sweep",
        )
    )
    try:
        yield
    finally:
        unsubscribe()
        runner, state.jobs = state.jobs, None
        await asyncio.to_thread(runner.shutdown)  # interrupts running jobs, joins the threads


def _drop_superseded_networks(database_url: str, catalog: Catalog) -> None:
    """Processes' per-layer-version state: road networks of versions no longer current."""
    with psycopg.connect(with_options(database_url), autocommit=True) as conn:
        drop_superseded_networks(conn, catalog)


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
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@contextlib.asynccontextmanager
async def job_recovery(state: AppState) -> AsyncIterator[None]:
    """Jobs a stopped server left: running ones failed with a reason, waiting ones queued —
    before the first request when the database answers, else as soon as it does; then,
    every third of the lease, this process's leases renewed and other processes' expired
    ones reaped (``ogc.processes.lease``), so a killed worker's job does not stay running."""
    if state.listener_ready.is_set():
        await _heartbeat_once(state)
    task = state.background.spawn(_heartbeats(state), "job-heartbeat")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _heartbeats(state: AppState) -> None:
    await state.listener_ready.wait()  # the database answers
    ok = True
    while (runner := state.jobs) is not None:
        ok = await _heartbeat_once(state, warn=ok)  # one warning per outage, not per beat
        await asyncio.sleep(runner.lease.renew_every_s if ok else RECOVERY_RETRY_S)


async def _heartbeat_once(state: AppState, *, warn: bool = True) -> bool:
    """Whether the heartbeat went through (or there is no runner)."""
    if state.jobs is None:
        return True
    try:
        await asyncio.to_thread(state.jobs.heartbeat)
        return True
    except Exception as exc:  # the database went away again: retry, keep serving
        if warn:
            log.warning("job heartbeat failed (%s); retrying every %.0fs", exc, RECOVERY_RETRY_S)
        return False


@contextlib.asynccontextmanager
async def retention(state: AppState) -> AsyncIterator[None]:
    """Every ``RETENTION_INTERVAL_S`` (and at start): finished jobs older than
    ONEMAP_JOB_RETENTION with their results, and rate windows long over, deleted. Every
    replica does it; the deletes are idempotent."""
    task = state.background.spawn(_purge_periodically(state), "retention")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _purge_periodically(state: AppState) -> None:
    while True:
        await purge_once(state)
        await asyncio.sleep(RETENTION_INTERVAL_S)


async def purge_once(state: AppState) -> None:
    """One round of ``retention``; a database error is logged and tried again next round."""
    s = state.settings
    if state.pool is None:
        return
    try:
        if s.job_retention is not None:
            async with state.pool.connection() as conn:
                purged = await purge_jobs(conn, s.job_retention)
            if purged:
                log.info("purged %d jobs finished over %.0f s ago", purged, s.job_retention)
        await purge_windows(state.pool, s.rate_window_s)
    except Exception as exc:
        log.warning("retention purge failed (%s); retrying in %.0fs", exc, RETENTION_INTERVAL_S)


@contextlib.asynccontextmanager
async def webhooks(state: AppState) -> AsyncIterator[None]:
    """Change notifications: this process's dispatcher (it delivers while it holds the
    leader lock, else stands by) and its wake-up on the outbox's NOTIFY."""
    if not state.settings.webhooks.enabled:
        yield
        return
    dispatcher = Dispatcher(state.database_url, state.settings.webhooks)
    state.webhooks = dispatcher
    tasks = [
        state.background.spawn(dispatcher.run(), "webhook-delivery"),
        state.background.spawn(
            listen_for_changes(state.database_url, dispatcher.wake, channel=OUTBOX_CHANNEL),
            "webhook-wake",
        ),
    ]
    try:
        yield
    finally:
        state.webhooks = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


Service = Callable[[AppState], AbstractAsyncContextManager[None]]
SERVICES: tuple[tuple[str, Service], ...] = (
    ("pool", pool),
    ("read-replicas", read_replicas),
    ("readiness", readiness),
    ("admission", admission),
    ("catalog-store", catalog_store),
    ("tile-producer", tile_producer),
    ("search-indexes", search_indexes),
    ("openapi", openapi),
    ("job-runner", job_runner),
    ("catalog-listener", catalog_listener),
    ("job-recovery", job_recovery),
    ("retention", retention),
    ("access", access),
    ("identity", identity),
    ("webhooks", webhooks),
)


@contextlib.asynccontextmanager
async def running(state: AppState) -> AsyncIterator[None]:
    """Every service of ``SERVICES`` in order; on the way out, each stopped in reverse,
    then the background tasks still running (cache sweeps)."""
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(state.background.close)
        for name, service in SERVICES:
            await stack.enter_async_context(_logged(name, service(state)))
        yield


@contextlib.asynccontextmanager
async def _logged(name: str, service: AbstractAsyncContextManager[None]) -> AsyncIterator[None]:
    async with service:
        log.info("service started: %s", name)
        try:
            yield
        finally:
            log.info("service stopping: %s", name)
    log.info("service stopped: %s", name)
