"""The per-app services, started in order by the lifespan and stopped in reverse.

    pool → read replicas → readiness probe → admission (of heavy requests)
         → catalog store (the snapshot of catalog + plans, the fast layer's subscribers)
         → tile producer → search tables → OpenAPI subscription → job runner → catalog listener
         → job recovery → retention (jobs, rate windows) → access (API keys, quotas, rate
    limits, audit counts) → identity (bearer tokens) → webhooks (change notifications)

Each step is an async context manager that builds one service onto ``AppState`` and takes it
down again; ``SERVICES`` is the order; the steps live by
concern in this package's modules. Subscribers to catalog changes (the plans of each
snapshot, the tile cache's sweep and the overviews of new versions, the search tables of
new versions, the fast layer's hot
tiles, the OpenAPI document, the road networks of superseded versions) are registered
before the listener loads the first snapshot, so they see every snapshot, the first one
included; slow ones run as background tasks.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from ogc.services.access import access, identity, webhooks
from ogc.services.catalog import catalog_listener, catalog_store, openapi, search_indexes
from ogc.services.database import admission, pool, read_replicas, readiness
from ogc.services.jobs import job_recovery, job_runner, retention
from ogc.services.tiling import tile_producer
from ogc.state import AppState

log = logging.getLogger("onemap.app")

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
    """Every service of ``SERVICES`` in order; on the way out, first the background tasks
    still running (cache sweeps, overview builds: a build mid-statement would otherwise hold
    its connection while the pool closes), then each service stopped in reverse, then any
    background task a service's stop started."""
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(state.background.close)
        for name, service in SERVICES:
            await stack.enter_async_context(_logged(name, service(state)))
        stack.push_async_callback(state.background.close)
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
