"""Counts every replica shares — daily key quotas and rate-limit windows — without a
database round trip per request.

Each process counts requests in memory and flushes the increments every
``flush_interval_s`` (~1 s) and on shutdown: one statement per kind of count, one row per
usage (a key × day × service, or a caller identity × rate window). The flush returns the
database's totals (every replica's counts) for every usage the process watches in the
current period, so a decision is *last-known database total + this process's counts not
yet in it*.

Bounded overshoot: a replica learns of the other replicas' requests at its next flush, so
past a limit each replica can admit at most what it serves of that usage within one flush
interval (N replicas: up to N intervals' traffic in all). A replica's own requests are
never overshot: they count at once. Refused requests are not counted.
"""

from __future__ import annotations

import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from layers.access.sqlfiles import access_sql

if TYPE_CHECKING:  # the pool is the service's; one-shot CLI commands never import it
    from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("onemap.quota")
U = TypeVar("U", bound=Hashable)  # one usage: what one count row is of
UsageKey = tuple[uuid.UUID, date, str]  # key id, Asia/Shanghai day, service


class SharedCounter(ABC, Generic[U]):
    """Known database totals plus this process's counts not yet flushed (and in flight),
    per usage ``U``; subclasses say how a batch is written (``statement``, ``_params``)
    and which usages are still current."""

    statement = ""  # the access SQL file (``layers/access/sql``) of a flush

    def __init__(self) -> None:
        self._known: dict[U, int] = {}
        self._pending: dict[U, int] = {}
        self._in_flight: dict[U, int] = {}

    def count_of(self, usage: U) -> int:
        """Requests of ``usage`` as far as this process knows."""
        return (
            self._known.get(usage, 0) + self._in_flight.get(usage, 0) + self._pending.get(usage, 0)
        )

    def count(self, usage: U, n: int = 1) -> None:
        self._pending[usage] = self._pending.get(usage, 0) + n

    def learn_total(self, usage: U, total: int) -> None:
        """A total read from the database; a total never goes down."""
        self._known[usage] = max(self._known.get(usage, 0), total)

    @property
    def pending(self) -> int:
        return sum(self._pending.values())

    def pending_usages(self) -> list[U]:
        return list(self._pending)

    def known_usages(self) -> list[U]:
        return list(self._known)

    async def flush_with(self, pool: AsyncConnectionPool, extra: dict[str, Any]) -> None:
        """Add this process's counts to the database and learn the totals the statement
        returns (``extra``: its other parameters). On a database error the counts are kept
        for the next flush."""
        batch, self._pending = self._pending, {}
        if not batch and not extra.get("watched"):
            return
        self._in_flight = batch
        try:
            async with pool.connection() as conn:
                cur = await conn.execute(access_sql(self.statement), self._params(batch) | extra)
                rows = await cur.fetchall()
        except Exception as exc:
            log.warning("%s not flushed (%s); kept for the next flush", self.statement, exc)
            for usage, n in batch.items():
                self._pending[usage] = self._pending.get(usage, 0) + n
            return
        finally:
            self._in_flight = {}
        for row in rows:
            usage, total = self._usage_of(row)
            self._known[usage] = total
        self._known = {usage: n for usage, n in self._known.items() if self._current(usage)}

    @abstractmethod
    def _params(self, batch: dict[U, int]) -> dict[str, Any]:
        """The statement's parameters for ``batch``'s increments."""

    @abstractmethod
    def _usage_of(self, row: tuple[Any, ...]) -> tuple[U, int]:
        """A returned row as (usage, database total)."""

    @abstractmethod
    def _current(self, usage: U) -> bool:
        """Whether a known total still decides anything (else dropped after a flush)."""


class UsageCounter(SharedCounter[UsageKey]):
    """Per-key daily quotas (``onemap.api_key_usage``)."""

    statement = "flush_key_usage"

    def __init__(self) -> None:
        super().__init__()
        self._today: date | None = None

    def used(self, key_id: uuid.UUID, day: date, service: str) -> int:
        """Requests of ``key_id`` for ``service`` on ``day`` as far as this process knows."""
        return self.count_of((key_id, day, service))

    def add(self, key_id: uuid.UUID, day: date, service: str, n: int = 1) -> None:
        self.count((key_id, day, service), n)

    def learn(self, key_id: uuid.UUID, day: date, totals: dict[str, int]) -> None:
        """Totals read from the database (a key lookup); a total never goes down."""
        for service, total in totals.items():
            self.learn_total((key_id, day, service), total)

    async def flush(
        self, pool: AsyncConnectionPool, watched: Iterable[uuid.UUID], today: date
    ) -> None:
        """Flush, learning every watched key's totals for ``today``."""
        self._today = today
        await self.flush_with(pool, {"today": today, "watched": sorted(set(watched))})

    def _params(self, batch: dict[UsageKey, int]) -> dict[str, Any]:
        return {
            "keys": [usage[0] for usage in batch],
            "days": [usage[1] for usage in batch],
            "services": [usage[2] for usage in batch],
            "counts": list(batch.values()),
        }

    def _usage_of(self, row: tuple[Any, ...]) -> tuple[UsageKey, int]:
        key_id, day, service, total = row
        return (key_id, day, service), total

    def _current(self, usage: UsageKey) -> bool:
        return self._today is None or usage[1] >= self._today
