"""Single-feature reads asked for together share one execute (layers.features.coalesce)."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from layers.features.coalesce import ReadQueue

STATEMENT = b"SELECT n, 'row ' || n FROM generate_series(1, 1000) AS n WHERE n = ANY(%s::bigint[])"
FAILING = (
    b"SELECT n, (1 / (n - n))::text FROM generate_series(1, 50) AS n WHERE n = ANY(%s::bigint[])"
)
SLOW = b"SELECT n, pg_sleep(1)::text FROM generate_series(1, 50) AS n WHERE n = ANY(%s::bigint[])"


class CountingPool:
    """The pool's getconn/putconn, counted: one getconn per execute of a group."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool, self.executes = pool, 0

    async def getconn(self) -> Any:
        self.executes += 1
        return await self.pool.getconn()

    async def putconn(self, conn: Any) -> None:
        await self.pool.putconn(conn)


async def _with_queue(url: str, body: Any) -> Any:
    async with AsyncConnectionPool(
        url, min_size=1, max_size=4, kwargs={"autocommit": True}
    ) as pool:
        counting = CountingPool(pool)
        return await body(ReadQueue(counting), counting)  # type: ignore[arg-type]


def test_reads_of_one_turn_share_one_execute(migrated_url: str) -> None:
    async def body(queue: ReadQueue, pool: CountingPool) -> tuple[list[str | None], int]:
        fids = [7, 3, 7, 5000, 12]  # a repeated fid, and one no row has
        rows = await asyncio.gather(*(queue.read(STATEMENT, fid) for fid in fids))
        return list(rows), pool.executes

    rows, executes = asyncio.run(_with_queue(migrated_url, body))
    assert rows == ["row 7", "row 3", "row 7", None, "row 12"]
    assert executes == 1


def test_each_statement_is_its_own_group_and_errors_stay_in_theirs(migrated_url: str) -> None:
    async def body(queue: ReadQueue, pool: CountingPool) -> tuple[list[Any], int]:
        reads = [queue.read(STATEMENT, 1), queue.read(FAILING, 2), queue.read(STATEMENT, 4)]
        answers = await asyncio.gather(*reads, return_exceptions=True)
        return list(answers), pool.executes

    answers, executes = asyncio.run(_with_queue(migrated_url, body))
    assert answers[0] == "row 1" and answers[2] == "row 4"
    assert isinstance(answers[1], psycopg.errors.DivisionByZero)
    assert executes == 2


def test_a_cancelled_reader_leaves_the_others_their_rows(migrated_url: str) -> None:
    async def body(queue: ReadQueue, pool: CountingPool) -> list[Any]:
        left = asyncio.ensure_future(queue.read(SLOW, 5))
        stays = asyncio.ensure_future(queue.read(STATEMENT, 6))
        await asyncio.sleep(0.05)
        left.cancel()
        return [await stays, await asyncio.gather(left, return_exceptions=True)]

    stays, left = asyncio.run(_with_queue(migrated_url, body))
    assert stays == "row 6"
    assert isinstance(left[0], asyncio.CancelledError)


@pytest.mark.parametrize("count", [1, 300])
def test_reads_beyond_a_group_bound_are_all_answered(migrated_url: str, count: int) -> None:
    async def body(queue: ReadQueue, pool: CountingPool) -> tuple[list[str | None], int]:
        rows = await asyncio.gather(*(queue.read(STATEMENT, 1 + i) for i in range(count)))
        return list(rows), pool.executes

    rows, executes = asyncio.run(_with_queue(migrated_url, body))
    assert rows == [f"row {1 + i}" for i in range(count)]
    assert executes == (1 if count == 1 else 2)  # 256 distinct fids at most per execute
