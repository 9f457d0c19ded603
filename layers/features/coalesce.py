"""Single-feature reads that arrive together share one statement.

A single feature costs one indexed row in PostGIS, but each read alone also costs a
round trip — the driver's work to send a statement and take its result, a wake-up of a
backend, a wait — several times the row itself. Reads asked for in the same turn of the
event loop are queued; at the end of the turn each group of reads of the same statement
(the same layer version, shape and area) runs as one execute of that statement with all
their fids (``fid = ANY(…)``, ``layers.features.page.feature_sql``), and each caller gets
its own row. A lone read waits for nothing: its group is itself, sent at the end of the
turn it was asked in. An error of a group's statement (a statement timeout, the database
gone) is every member's, as each would have met it alone.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from psycopg import sql

if TYPE_CHECKING:  # the pool is the service's; one-shot CLI commands never import it
    from psycopg_pool import AsyncConnectionPool

Statement = bytes | sql.Composed
MAX_GROUP = 256  # fids per execute: a bigger group is split over more connections


class _Group:
    """The reads of one statement and one set of other parameters in this turn."""

    __slots__ = ("answers", "extra", "statement")

    def __init__(self, statement: Statement, extra: tuple[Any, ...]) -> None:
        self.statement, self.extra = statement, extra
        self.answers: dict[int, list[asyncio.Future[str | None]]] = {}

    def ask(self, fid: int, answer: asyncio.Future[str | None]) -> None:
        self.answers.setdefault(fid, []).append(answer)

    def settle(self, rows: dict[int, str]) -> None:
        for fid, answers in self.answers.items():
            row = rows.get(fid)
            for answer in answers:
                if not answer.done():  # its caller was cancelled (the client left)
                    answer.set_result(row)

    def fail(self, exc: BaseException) -> None:
        for answers in self.answers.values():
            for answer in answers:
                if not answer.done():
                    answer.set_exception(exc)


class ReadQueue:
    """The reads queued for one pool in this turn of the loop."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._groups: dict[Hashable, _Group] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def read(self, statement: Statement, fid: int, extra: Sequence[Any] = ()) -> str | None:
        """The text of the feature ``fid`` by ``statement`` (its first placeholder the fids,
        the others ``extra``); None: no such row."""
        loop = asyncio.get_running_loop()
        if not self._groups:
            loop.call_soon(self._send)
        # Composed statements are not hashable: the plan's own (built once) group by identity.
        key = (statement if isinstance(statement, bytes) else id(statement), *extra)
        group = self._groups.get(key)
        if group is None or len(group.answers) >= MAX_GROUP:
            if group is not None:
                self._start(group)
            group = self._groups[key] = _Group(statement, tuple(extra))
        answer: asyncio.Future[str | None] = loop.create_future()
        group.ask(fid, answer)
        return await answer

    def _send(self) -> None:
        groups, self._groups = self._groups, {}
        for group in groups.values():
            self._start(group)

    def _start(self, group: _Group) -> None:
        task = asyncio.ensure_future(self._run(group))
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

    async def _run(self, group: _Group) -> None:
        try:
            rows = await self._execute(group)
        except BaseException as exc:  # every member meets the group's error
            group.fail(exc)
            if not isinstance(exc, Exception):
                raise
            return
        group.settle(rows)

    async def _execute(self, group: _Group) -> dict[int, str]:
        params = [_bigint_array(group.answers), *group.extra]
        conn = await self._pool.getconn()
        try:
            cursor = await conn.execute(group.statement, params, prepare=True)  # slow: logged
            rows = await cursor.fetchall()
        finally:
            await self._pool.putconn(conn)
        return {int(fid): str(text) for fid, text in rows}


def _bigint_array(fids: Iterable[int]) -> str:
    """The fids as an array literal for the statement's ``%s::bigint[]``: psycopg sends a
    string as it is, where a list costs its array dumper (element types, sizes) per execute."""
    return "{" + ",".join(map(str, fids)) + "}"


_QUEUES: weakref.WeakKeyDictionary[AsyncConnectionPool, ReadQueue] = weakref.WeakKeyDictionary()


def queue_of(pool: AsyncConnectionPool) -> ReadQueue:
    """The pool's queue: it lives and dies with the pool (primary and each standby)."""
    queue = _QUEUES.get(pool)
    if queue is None:
        queue = _QUEUES[pool] = ReadQueue(pool)
    return queue
