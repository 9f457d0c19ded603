"""The database side: the primary pool, the standbys' pools, the readiness probe and the
admission bound on heavy requests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from layers.admission import Admission
from layers.db import open_pool_lazily
from layers.probe import DatabaseProbe
from layers.replicas import ReadRouter, replica_of
from ogc.state import AppState, cancel_all


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
        await cancel_all([task])
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
        await cancel_all([task])
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
