"""The uvicorn protocol of `onemap serve`: a response's head and body leave in one write,
in order, and a head whose body is late still leaves within one turn of the loop."""

from __future__ import annotations

import asyncio
from typing import Any

from ogc.server.http_protocol import JOIN_LIMIT, CoalescingTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def _pair() -> tuple[RecordingTransport, CoalescingTransport, asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    inner = RecordingTransport()
    return inner, CoalescingTransport(inner, loop), loop


def test_head_and_body_leave_in_one_write() -> None:
    inner, outer, loop = _pair()
    outer.write(HEAD)
    assert inner.writes == []
    outer.write(b"hello")
    assert inner.writes == [HEAD + b"hello"]
    loop.run_until_complete(asyncio.sleep(0))  # the scheduled flush finds nothing left
    assert inner.writes == [HEAD + b"hello"]
    loop.close()


def test_a_late_body_does_not_hold_the_head_back() -> None:
    inner, outer, loop = _pair()
    outer.write(HEAD)
    loop.run_until_complete(asyncio.sleep(0))
    assert inner.writes == [HEAD]  # streamed responses: the head went out on the next turn
    outer.write(b"chunk")
    assert inner.writes == [HEAD, b"chunk"]
    loop.close()


def test_big_bodies_are_not_copied_and_close_flushes() -> None:
    inner, outer, loop = _pair()
    big = b"x" * (JOIN_LIMIT + 1)
    outer.write(HEAD)
    outer.write(big)
    assert inner.writes == [HEAD, big]
    outer.write(HEAD)
    outer.close()  # e.g. `connection: close` after a bodiless 304
    assert inner.writes == [HEAD, big, HEAD] and inner.closed
    loop.close()
