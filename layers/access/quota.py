"""Per-key daily quotas, counted where every replica sees them — without a database round
trip per request.

Each process counts a key's requests in memory and flushes the increments every
``flush_interval_s`` (~1 s) and on shutdown: one statement per flush, one row per
(key, day, service). The flush returns the database's totals (every replica's counts) for
every key the process has seen today, so a decision is *last-known database total +
this process's counts not yet in it*.

Bounded overshoot: a replica learns of the other replicas' requests at its next flush, so
past a quota each replica can admit at most what it serves of that key within one flush
interval (N replicas: up to N intervals' traffic in all). A replica's own requests are
never overshot: they count at once. Requests refused by the quota are not counted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from layers.access.sqlfiles import access_sql

if TYPE_CHECKING:  # the pool is the service's; one-shot CLI commands never import it
    from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("onemap.quota")
UsageKey = tuple[uuid.UUID, date, str]  # key id, Asia/Shanghai day, service


class UsageCounter:
    """Known database totals plus this process's counts not yet flushed (and in flight)."""

    def __init__(self) -> None:
        self._known: dict[UsageKey, int] = {}
        self._pending: dict[UsageKey, int] = {}
        self._in_flight: dict[UsageKey, int] = {}

    def used(self, key_id: uuid.UUID, day: date, service: str) -> int:
        """Requests of ``key_id`` for ``service`` on ``day`` as far as this process knows."""
        usage = (key_id, day, service)
        return (
            self._known.get(usage, 0) + self._in_flight.get(usage, 0) + self._pending.get(usage, 0)
        )

    def add(self, key_id: uuid.UUID, day: date, service: str, n: int = 1) -> None:
        usage = (key_id, day, service)
        self._pending[usage] = self._pending.get(usage, 0) + n

    def learn(self, key_id: uuid.UUID, day: date, totals: dict[str, int]) -> None:
        """Totals read from the database (a key lookup); a total never goes down."""
        for service, count in totals.items():
            usage = (key_id, day, service)
            self._known[usage] = max(self._known.get(usage, 0), count)

    @property
    def pending(self) -> int:
        return sum(self._pending.values())

    async def flush(
        self, pool: AsyncConnectionPool, watched: Iterable[uuid.UUID], today: date
    ) -> None:
        """Add this process's counts to the database and learn every watched key's totals
        for ``today``. On a database error the counts are kept for the next flush."""
        batch, self._pending = self._pending, {}
        watched_ids = sorted(set(watched))
        if not batch and not watched_ids:
            return
        self._in_flight = batch
        try:
            async with pool.connection() as conn:
                cur = await conn.execute(
                    access_sql("flush_key_usage"), _params(batch, watched_ids, today)
                )
                rows = await cur.fetchall()
        except Exception as exc:
            log.warning("key usage not flushed (%s); kept for the next flush", exc)
            for usage, n in batch.items():
                self._pending[usage] = self._pending.get(usage, 0) + n
            return
        finally:
            self._in_flight = {}
        for key_id, day, service, count in rows:
            self._known[(key_id, day, service)] = count
        self._known = {usage: n for usage, n in self._known.items() if usage[1] >= today}


def _params(batch: dict[UsageKey, int], watched: list[uuid.UUID], today: date) -> dict[str, object]:
    return {
        "keys": [usage[0] for usage in batch],
        "days": [usage[1] for usage in batch],
        "services": [usage[2] for usage in batch],
        "counts": list(batch.values()),
        "today": today,
        "watched": watched,
    }
