"""Reads on PostgreSQL streaming standbys (``ONEMAP_READ_DATABASE_URL``), never stale.

Writes, ingest, edits, jobs, the catalog's LISTEN and the gate's flushes use the primary
pool; requests that only read (items, tiles, search, WMTS) take ``ReadRouter.pool()``.

The lag rule is one number per process, the **floor**: the primary's WAL position the last
time this process learnt of a change it may read (a catalog snapshot loaded, an edit
committed, an overview or search table built). Anything a request can name was committed at
or before it. A replica is used only when its last probed replay position
(``pg_last_wal_replay_lsn()``) has reached the floor; otherwise the read goes to the primary,
so a publish or an edit is visible at once, and the replica is used again as soon as a probe
sees it caught up. A replica that does not answer its probe is out until it does; before it
is used again its pool drops the connections the outage broke.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import psycopg

from layers.db import open_pool_lazily
from layers.probe import DatabaseProbe

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("onemap.replicas")
# The WAL position in bytes: replayed on a standby, written on a primary.
WAL_POSITION_SQL = (
    b"SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    b"ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint"
)
# A standby's replayed position; NULL on a server that is not in recovery (not a standby:
# its positions say nothing about the primary's, so it is never read from).
REPLAYED_SQL = b"SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"
PROBE_INTERVAL_S = 0.25  # how soon a caught-up or failed replica is noticed
PROBE_TIMEOUT_S = 1.0
NOT_USABLE = -1  # a replica's position while it does not answer
UNKNOWN = 2**63 - 1  # the floor after a write whose position could not be read: primary only


async def wal_position(conn: AsyncConnection) -> int:
    """Where ``conn``'s server is in the WAL (bytes since 0/0)."""
    row = await (await conn.execute(WAL_POSITION_SQL)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


@dataclass
class Replica:
    """One standby: its request pool, its probe and the position it last replayed."""

    label: str  # "replica 1": never its URL (readiness answers are public)
    pool: AsyncConnectionPool
    probe: DatabaseProbe
    replayed: int = NOT_USABLE
    warned: bool = False  # said once why it is not read from

    @property
    def up(self) -> bool:
        return self.replayed != NOT_USABLE


@dataclass
class ReadRouter:
    """Chooses the pool a read runs on: a replica that has replayed the floor (in turn),
    else the primary. Without replicas it is the primary, and costs nothing."""

    primary: AsyncConnectionPool
    replicas: Sequence[Replica] = ()
    floor: int = 0
    _turn: itertools.count[int] = field(default_factory=itertools.count, init=False)

    def pool(self) -> AsyncConnectionPool:
        usable = [replica for replica in self.replicas if replica.replayed >= self.floor]
        if not usable:
            return self.primary
        return usable[next(self._turn) % len(usable)].pool

    async def advance(self, conn: AsyncConnection) -> None:
        """Raise the floor to where ``conn`` (a primary connection that just read or wrote
        what later reads depend on) is in the WAL."""
        if self.replicas:
            position = await wal_position(conn)
            self.floor = position if self.floor == UNKNOWN else max(self.floor, position)

    async def wrote(self) -> None:
        """After a commit on the primary this process's next reads must see. Never fails
        the write: if the primary cannot say where it is, reads stay on it until it can."""
        if not self.replicas:
            return
        try:
            async with self.primary.connection() as conn:
                await self.advance(conn)
        except psycopg.OperationalError as exc:
            log.warning("WAL position after a write unknown (%s); reading from the primary", exc)
            self.floor = UNKNOWN

    def status(self) -> dict[str, int]:
        """What readiness reports (replicas never decide it: the primary does)."""
        caught_up = sum(1 for r in self.replicas if r.replayed >= self.floor)
        up = sum(1 for r in self.replicas if r.up)
        return {"configured": len(self.replicas), "up": up, "caught_up": caught_up}

    async def watch(self) -> None:
        """Probe every replica until cancelled (a background task of the app)."""
        await asyncio.gather(*(self._watch(replica) for replica in self.replicas))

    async def _watch(self, replica: Replica) -> None:
        while True:
            result = await replica.probe.probe_once()
            position = result.value if result.ok and isinstance(result.value, int) else None
            if position is not None and not replica.up:
                with contextlib.suppress(psycopg.Error):  # drop what the outage broke
                    await replica.pool.check()
                log.info("%s answers; reads go to it once it has caught up", replica.label)
            elif position is None and (replica.up or not replica.warned):
                why = "it is not a streaming standby" if result.ok else result.problem
                log.warning("%s is not read from (%s); reading from the primary", replica.label,
                            why)  # fmt: skip
            replica.warned = position is None
            replica.replayed = NOT_USABLE if position is None else position
            await asyncio.sleep(PROBE_INTERVAL_S)


def replica_of(
    url: str,
    index: int,
    *,
    min_size: int,
    max_size: int,
    statement_timeout_ms: int,
    acquire_timeout_s: float,
    connect_timeout_s: int,
) -> Replica:
    """A standby's pool (as the primary's, not yet open) and its probe."""
    pool = open_pool_lazily(
        url,
        min_size=min_size,
        max_size=max_size,
        statement_timeout_ms=statement_timeout_ms,
        acquire_timeout_s=acquire_timeout_s,
        connect_timeout_s=connect_timeout_s,
        name=f"onemap-replica-{index}",
    )
    probe = DatabaseProbe(
        url, interval_s=PROBE_INTERVAL_S, timeout_s=PROBE_TIMEOUT_S, query=REPLAYED_SQL
    )
    return Replica(f"replica {index}", pool, probe)
