"""Whether the database answers, known without asking it on the request path.

A probe runs in the background on its own connection (never the request pool): every
``interval_s`` a ``SELECT 1`` bounded by ``timeout_s``, reconnecting when the connection is
gone. ``/readyz`` reads the last result, so readiness never queues behind traffic for a
pooled connection — a merely busy worker stays in its load balancer — and says "not ready"
only when the database really did not answer: the last probe failed, or none finished
within ``stale_after_s`` (a probe that hangs counts as a failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import psycopg

from layers.db import with_options

log = logging.getLogger("onemap.probe")
# Not the requests' name: pg_stat_activity tells probes from the service's queries.
PROBE_APPLICATION_NAME = "onemap-probe"


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    problem: str | None
    at: float  # time.monotonic() of the probe's end
    value: object = None  # the first column the probe's query answered


class DatabaseProbe:
    def __init__(
        self,
        database_url: str,
        *,
        interval_s: float = 1.0,
        timeout_s: float = 2.0,
        query: bytes = b"SELECT 1",
    ) -> None:
        self._conninfo = with_options(
            database_url,
            statement_timeout_ms=int(timeout_s * 1000),
            connect_timeout_s=2,
            application_name=PROBE_APPLICATION_NAME,
        )
        self.interval_s, self.timeout_s, self.query = interval_s, timeout_s, query
        self.last = ProbeResult(False, "the database has not been probed yet", time.monotonic())
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    @property
    def stale_after_s(self) -> float:
        return 2 * self.interval_s + self.timeout_s + 2.0  # + the connect timeout

    def problem(self) -> str | None:
        """Why the database counts as unreachable now; None: it answered lately."""
        age = time.monotonic() - self.last.at
        if not self.last.ok:
            return self.last.problem
        if age > self.stale_after_s:
            return f"the database has not answered a probe for {age:.0f} s"
        return None

    async def run(self) -> None:
        """Probe until cancelled (a background task of the app)."""
        try:
            while True:
                self.last = await self.probe_once()
                await asyncio.sleep(self.interval_s)
        finally:
            await self.close()

    async def probe_once(self) -> ProbeResult:
        try:
            async with asyncio.timeout(self.timeout_s + 2.0):  # connect, then the query
                conn = await self._connection()
                row = await (await conn.execute(self.query)).fetchone()
            return ProbeResult(True, None, time.monotonic(), row[0] if row else None)
        except (psycopg.Error, TimeoutError, OSError) as exc:
            if self.last.ok:
                log.warning("database probe failed: %s", exc)
            await self.close()  # reconnect next time
            reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
            return ProbeResult(False, f"database unreachable ({reason})", time.monotonic())

    async def _connection(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        return self._conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()
