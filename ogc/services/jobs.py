"""The job runner, the recovery of jobs a stopped server left, their leases' heartbeat, and
the retention of finished jobs and rate windows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from functools import partial
from importlib import resources
from pathlib import Path

import psycopg

from layers.access.rates import purge_windows
from layers.catalog import Catalog
from layers.db import with_options
from ogc.deps import catalog_of
from ogc.processes.jobs import purge_jobs
from ogc.processes.lease import JobLease
from ogc.processes.runner import JobRunner
from ogc.state import AppState, cancel_all
from spatial.isolate import Isolation
from spatial.network import drop_superseded_networks

log = logging.getLogger("onemap.app")
ASYNC_TIMEOUT_FACTOR = 10  # asynchronous jobs may run 10× the request statement timeout
RECOVERY_RETRY_S = 2.0
RETENTION_INTERVAL_S = 600.0  # how often finished jobs past their retention are purged


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
        isolation=Isolation(s.process_max_memory_mb) if s.process_max_memory_mb else None,
        job_timeout_ms=int(s.job_timeout_s * 1000),
    )
    if state.jobs.isolation is not None:  # the first job need not wait for its imports
        state.background.spawn(asyncio.to_thread(Isolation.warm), "forkserver-warm")
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
        await cancel_all([task])


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
        await cancel_all([task])


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
