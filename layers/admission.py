"""Bounded admission of heavy work: a few run at once, a few wait briefly, the rest are shed.

One ``Admission`` per worker process (the app's lifespan builds it) guards what costs a
database connection and real time — items pages, uncached tiles, searches, process runs.
``slot()`` lets ``limit`` of them run at once and ``queue`` more wait at most ``wait_s``;
anything beyond, or a wait that runs out, is ``Overloaded`` (a 503 with ``Retry-After``)
at once. Shedding fast keeps every answer's latency bounded under overload, where an
unbounded queue only makes every request late, and keeps pool connections free for the
cheap reads (health, cached tiles, single features) that never ask for a slot.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from layers.errors import Overloaded


@dataclass
class Admission:
    limit: int
    queue: int
    wait_s: float
    running: int = 0
    waiting: int = 0
    shed: int = 0  # requests refused so far (the tests and the bench read it)
    _slots: asyncio.Semaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.limit)

    @contextlib.asynccontextmanager
    async def slot(self, what: str = "request") -> AsyncIterator[None]:
        """Run the block in a slot, or raise ``Overloaded`` (never wait past ``wait_s``)."""
        if self._slots.locked():
            await self._wait(what)
        else:
            await self._slots.acquire()  # free: returns without yielding to the loop
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._slots.release()

    async def _wait(self, what: str) -> None:
        if self.waiting >= self.queue:
            raise self._overloaded(what)
        self.waiting += 1
        try:
            async with asyncio.timeout(self.wait_s):
                await self._slots.acquire()
        except TimeoutError:
            raise self._overloaded(what) from None
        finally:
            self.waiting -= 1

    def _overloaded(self, what: str) -> Overloaded:
        self.shed += 1
        return Overloaded(
            f"the server is busy: {self.running} heavy requests run and {self.waiting} wait "
            f"on this worker, so this {what} was not started; retry in a moment"
        )
