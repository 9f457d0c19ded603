"""/metrics' body: this process's counts and the app's gauges as Prometheus text (0.0.4).

Per process, every series labelled with its ``pid`` (docs/adr/0016-observability.md): the
counters are a worker's own plain integers, read when a scrape asks — nothing is shared,
locked or written per request beyond them. prometheus_client does the exposition (a
``Collector`` building families at scrape time, and its process collector: memory, CPU,
open files). Gauges are read from the app's services as they are now: the pool, the
admission bound, the catalog store; the job queue is counted in the database (one small
indexed query per scrape: the queue is every replica's).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from psycopg_pool import AsyncConnectionPool

from ogc.observe.request_metrics import RequestMetrics
from ogc.observe.route_class import TILES_CACHED
from ogc.state import AppState

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
OPEN_JOBS = (
    "SELECT status, count(*) FROM onemap.jobs WHERE status IN ('accepted', 'running') "
    "GROUP BY status"
)
JOB_STATES = ("accepted", "running")


class CachedTileCounts(Protocol):
    """What the fast layer counts (``ogc.routers.tiles_fastpath.TileCacheFastPath``)."""

    at_once: int
    at_once_not_modified: int
    cache_hits: int


@dataclass(eq=False)  # registered as a collector: hashed by identity
class Exposition:
    """The app's metrics: built by ``create_app``, read by ``GET /metrics``."""

    state: AppState
    requests: RequestMetrics
    fast: CachedTileCounts | None = None

    def __post_init__(self) -> None:
        self.pid = str(os.getpid())
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(ProcessCollector(registry=None))
        self._jobs: dict[str, int] | None = None
        self.registry.register(self)

    async def render(self) -> bytes:
        """The exposition now (the job queue read first: the only part that needs I/O; with
        the database away it is left out, and the rest still answers)."""
        self._jobs = await _open_jobs(self.state.pool)
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        yield from self._requests()
        yield from self._latency()
        yield from self._pool()
        yield from self._tile_cache()
        yield from self._state_gauges()

    def _requests(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "onemap_http_requests",
            "Requests answered, by route class and status (cached tiles written by the "
            "HTTP protocol itself included).",
            labels=["pid", "route", "status"],
        )
        counts = dict(self.requests.counts)
        if self.fast is not None:  # the protocol's at-once answers: 200s and 304s
            not_modified = self.fast.at_once_not_modified
            for status, count in ((200, self.fast.at_once - not_modified), (304, not_modified)):
                counts[(TILES_CACHED, status)] = counts.get((TILES_CACHED, status), 0) + count
        for (route, status), count in sorted(counts.items()):
            if count:
                family.add_metric([self.pid, route, str(status)], count)
        yield family

    def _latency(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "onemap_http_request_duration_seconds",
            "Time from a request's arrival in ASGI to its last byte sent, by route class "
            "(cached tiles the HTTP protocol answers at once are counted, not timed).",
            labels=["pid", "route"],
        )
        for route, latency in sorted(self.requests.latency.items()):
            family.add_metric([self.pid, route], latency.cumulative(), latency.total_s)
        yield family

    def _pool(self) -> Iterator[Metric]:
        pool = self.state.pool
        stats = pool.get_stats() if pool is not None else {}
        size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
        for name, text, value in (
            ("size", "Connections the request pool holds.", size),
            ("max", "Connections the request pool may hold.", stats.get("pool_max", 0)),
            ("in_use", "Pooled connections lent to requests now.", size - idle),
            (
                "waiting",
                "Requests waiting for a pooled connection now.",
                stats.get("requests_waiting", 0),
            ),
        ):
            yield self._gauge(f"onemap_db_pool_{name}", text, value)

    def _tile_cache(self) -> Iterator[Metric]:
        producer = self.state.tile_producer
        hits = producer.cache_hits if producer is not None else 0
        misses = producer.cache_misses if producer is not None else 0
        if self.fast is not None:
            hits += self.fast.at_once + self.fast.cache_hits
        family = CounterMetricFamily(
            "onemap_tile_cache_lookups",
            "Tile requests answered from the cache (memory or disk) or made anew.",
            labels=["pid", "result"],
        )
        family.add_metric([self.pid, "hit"], hits)
        family.add_metric([self.pid, "miss"], misses)
        yield family
        ratio = hits / (hits + misses) if hits + misses else 0.0
        yield self._gauge(
            "onemap_tile_cache_hit_ratio",
            "Share of tile lookups answered from the cache since this process started.",
            ratio,
        )

    def _state_gauges(self) -> Iterator[Metric]:
        state = self.state
        store, admission = state.store, state.admission
        yield self._gauge(
            "onemap_catalog_generation",
            "Catalog snapshots this process has loaded.",
            store.generation if store is not None else 0,
        )
        yield self._gauge(
            "onemap_catalog_layers",
            "Layers in the catalog served now.",
            len(store.current) if store is not None and store.loaded else 0,
        )
        probe = state.probe
        up = probe is not None and probe.problem() is None
        yield self._gauge(
            "onemap_database_up",
            "Whether the readiness probe reaches the database (1) or not (0).",
            int(up),
        )
        if self._jobs is not None:
            jobs = GaugeMetricFamily(
                "onemap_jobs",
                "Open jobs of every replica, by status (accepted: queued).",
                labels=["pid", "status"],
            )
            for status in JOB_STATES:
                jobs.add_metric([self.pid, status], self._jobs.get(status, 0))
            yield jobs
        shed = CounterMetricFamily(
            "onemap_admission_shed",
            "Heavy requests refused (503) by this worker's admission.",
            labels=["pid"],
        )
        shed.add_metric([self.pid], admission.shed if admission is not None else 0)
        yield shed
        for name, text in (
            ("running", "Heavy requests running now."),
            ("waiting", "Heavy requests waiting for a slot now."),
        ):
            value = getattr(admission, name) if admission is not None else 0
            yield self._gauge(f"onemap_admission_{name}", text, value)

    def _gauge(self, name: str, text: str, value: float) -> GaugeMetricFamily:
        family = GaugeMetricFamily(name, text, labels=["pid"])
        family.add_metric([self.pid], value)
        return family


async def _open_jobs(pool: AsyncConnectionPool[Any] | None) -> dict[str, int] | None:
    if pool is None:
        return None
    try:
        async with pool.connection() as conn:
            rows = await (await conn.execute(OPEN_JOBS)).fetchall()
    except psycopg.OperationalError:  # the database away: the pool's gauges tell it
        return None
    return {str(status): int(count) for status, count in rows}
