"""Running feature statements, and the one map of their database errors.

PostGIS renders each chunk of features as text; this module only runs the
statements, joins chunks (the caller adds the FeatureCollection members that depend
on the page: counts, links) and streams large pages so memory stays flat whatever
``limit`` is. Every statement runs inside ``database_errors``, so a bad value is a
400 and a statement timeout or a cancelled query a 503, on every path alike.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from layers.db import unavailable
from layers.errors import InvalidParameter
from layers.features.coalesce import queue_of

if TYPE_CHECKING:  # the pool is the service's; one-shot CLI commands never import it
    from psycopg_pool import AsyncConnectionPool

Row = Sequence[Any]


def database_errors() -> _DatabaseErrors:
    """Run-time data errors (SQLSTATE class 22, e.g. a bad cast) are the client's: 400."""
    return _DATABASE_ERRORS


class _DatabaseErrors:
    """``database_errors``' map as a plain context manager, stateless and shared (a
    generator-based one costs a generator per use: every single-feature read pays it)."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:  # None: an error it does not map goes on as it is
        if isinstance(exc, psycopg.errors.DataError):
            detail = exc.diag.message_primary or str(exc)
            raise InvalidParameter(
                f"the database rejected a value of this request: {detail}"
            ) from None
        if isinstance(exc, psycopg.errors.InternalError_):
            detail = exc.diag.message_primary or ""
            if not detail.startswith("transform:"):
                return
            raise InvalidParameter(
                f"coordinates fall outside the domain of a requested CRS ({detail}); check the "
                "axis order (EPSG:4326/4490 are lat,lon; Gauss-Kruger is northing,easting) and "
                "that the zone covers the data"
            ) from None
        if isinstance(exc, psycopg.OperationalError):  # a statement timeout, a cancel, gone
            raise unavailable(exc) from None


_DATABASE_ERRORS = _DatabaseErrors()


@dataclass
class PageSummary:
    """What the chunk rows say about the page as a whole."""

    returned: int = 0
    more: bool = False
    low: tuple[int, Any] | None = None  # (row number, keyset) nearest the anchor
    high: tuple[int, Any] | None = None

    def add(self, row: Row) -> None:
        _, returned, more, min_rn, min_key, max_rn, max_key = row
        self.returned += int(returned)
        self.more = self.more or bool(more)
        if min_rn is not None and (self.low is None or min_rn < self.low[0]):
            self.low = (int(min_rn), min_key)
        if max_rn is not None and (self.high is None or max_rn > self.high[0]):
            self.high = (int(max_rn), max_key)

    def edge_keys(self, *, backwards: bool) -> tuple[tuple[Any, ...] | None, ...]:
        """(first, last) keyset of the page in output order."""
        low = _keyset(self.low[1]) if self.low else None
        high = _keyset(self.high[1]) if self.high else None
        return (high, low) if backwards else (low, high)


def _keyset(key: Any) -> tuple[Any, ...]:
    if isinstance(key, str):  # JSON array of sort values then fid
        return tuple(json.loads(key))
    return (key,)


async def fetch_page(
    conn: psycopg.AsyncConnection[Any],
    statement: sql.Composed,
    params: dict[str, Any] | None,
    *,
    prepare: bool | None = None,
) -> list[Row]:
    """A small page: every chunk row at once (there is one)."""
    with database_errors():
        cursor = await conn.execute(statement, params, prepare=prepare)
        return list(await cursor.fetchall())


async def read_feature(
    pool: AsyncConnectionPool, statement: bytes | sql.Composed, fid: int, area: bytes | None = None
) -> str | None:
    """One feature's text by fid (``statement``: ``layers.features.page.feature_sql``'s), with
    one prepared execute shared by the reads of the same statement asked for in the same
    turn of the loop (``layers.features.coalesce``). ``area``: an area-limited caller's
    clip, for the statement's second placeholder."""
    with database_errors():  # also the pool's acquire timeout while the database is down
        return await queue_of(pool).read(statement, fid, () if area is None else (area,))


async def primed(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Run a stream up to its first bytes now, so errors become a 4xx before the 200."""
    first = await anext(chunks, None)

    async def rest() -> AsyncIterator[bytes]:
        try:
            if first is not None:
                yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]

    return rest()


Tail = Callable[[psycopg.AsyncConnection[Any], PageSummary], Awaitable[bytes]]


async def stream_page(
    pool: AsyncConnectionPool,
    statement: sql.Composed,
    params: dict[str, Any] | None,
    *,
    head: bytes,
    separator: bytes,
    tail: Tail,
) -> AsyncIterator[bytes]:
    """head, the chunks joined by ``separator``, then ``tail`` (computed on the same connection)."""
    async with pool.connection() as conn:
        summary = PageSummary()
        written = False
        with database_errors():
            async for row in conn.cursor().stream(statement, params):  # never prepared
                summary.add(row)
                if row[0] is None:
                    continue
                prefix = separator if written else head
                written = True
                yield prefix + row[0].encode()
        if not written:
            yield head
        yield await tail(conn, summary)


async def stream_copy(pool: AsyncConnectionPool, statement: sql.Composed) -> AsyncIterator[bytes]:
    """COPY ... TO STDOUT output as PostgreSQL writes it (CSV)."""
    async with pool.connection() as conn:
        with database_errors():
            async with conn.cursor().copy(statement) as copy:
                async for data in copy:
                    yield bytes(data)
