"""uvicorn's HTTP protocol, sending a response's head and body in one ``send()``.

uvicorn writes the status line and headers as soon as the app starts a response, and
the body in a second write: two system calls and, with TCP_NODELAY, two packets that
wake the client twice. For small responses answered at once (a cached tile, a single
feature) that second round is a fifth of the whole cost. Here the head waits until the
first body write joins it; if the body does not follow within the same turn of the event
loop (a streamed page still being computed), the head leaves alone at the next turn.
Nothing is reordered and nothing waits longer than one turn.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

JOIN_LIMIT = 256 * 1024  # larger bodies are not copied just to save one system call


class CoalescingTransport(asyncio.Transport):
    """Delegates to the socket transport, holding back a response head for one loop turn."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            if len(data) <= JOIN_LIMIT:
                self._transport.write(head + bytes(data))
                return
            self._transport.write(head)
        elif bytes(data[:9]) == b"HTTP/1.1 " and not self._transport.is_closing():
            self._head = bytes(data)
            self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._head = None
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._head or b"")


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """What ``onemap serve`` gives uvicorn as its ``http`` protocol."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))
