"""uvicorn's HTTP protocol, sending a response's head and body in one ``send()``.

uvicorn writes the status line and headers as soon as the app starts a response, and
the body in a second write: two system calls and, with TCP_NODELAY, two packets that
wake the client twice. For small responses answered at once (a cached tile, a single
feature) that second round is a fifth of the whole cost. Here the head waits until the
first body write joins it; if the body does not follow within the same turn of the event
loop (a streamed page still being computed), the head leaves alone at the next turn.
Nothing is reordered and nothing waits longer than one turn.

A cache hit goes further: when the app can answer a request from memory for a caller known
without I/O (``answer_at_once``: the fast layer's hot public tiles, ``ogc.routers.tiles_fastpath``),
the protocol writes that answer as soon as the request's head is parsed — before uvicorn parses
the URL and builds the request's cycle (for a plain path), with no ASGI task, event or scope
hand-over — the per-request cost of the ASGI machinery was half a cached tile's time
(bench/README.md). The answer is the one the app would send; head and serialisation are uvicorn's
(status line, default headers, ``connection: close`` when the connection ends). Everything else,
and everything while the access log is on or the client is not reading, takes the ASGI path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from ogc.http.asgi_types import Headers, Ready, WireHeaders

AnswerAtOnce = Callable[[Any], Ready | None]

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

    def write_response(self, head: bytes, body: bytes) -> None:
        """A whole response in one vectored write (nothing is held back: the head is whole)."""
        self.flush()
        self._transport.writelines((head, body) if body else (head,))

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

    _at_once: AnswerAtOnce | None = None
    _coalescing: CoalescingTransport
    _defaults: Headers | None = None
    _default_wire = b""
    _idle_deadline: float | None = None  # when an idle keep-alive connection closes

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._coalescing = CoalescingTransport(transport, self.loop)
        super().connection_made(self._coalescing)
        # With the access log asked for (ONEMAP_ACCESS_LOG), every request is logged by uvicorn.
        self._at_once = None if self.config.access_log else answerer_of(self.app)

    def on_headers_complete(self) -> None:
        # A cache hit is answered here, before uvicorn builds the request's cycle (its
        # URL parsing, cycle object and asyncio.Event were a fifth of a hit's cost); any
        # request it does not take goes on exactly as uvicorn handles it.
        if not self._answered_before_cycle():
            super().on_headers_complete()

    def _answered_before_cycle(self) -> bool:
        """Answer a plain GET/HEAD of a path (no query, nothing escaped) at once, if the
        app can and no earlier request of this connection is still being answered."""
        url, parser = self.url, self.parser
        if (
            self._at_once is None
            or (self.cycle is not None and not self.cycle.response_complete)  # pipelined
            or self.expect_100_continue
            or self.limit_concurrency is not None  # uvicorn's own 503 decides
            or self.root_path
            or url[:1] != b"/"
            or b"?" in url
            or b"%" in url
            or not url.isascii()
            or parser.get_method() not in (b"GET", b"HEAD")
            or parser.should_upgrade()
        ):
            return False
        scope = self.scope
        version = parser.get_http_version()
        scope["method"] = parser.get_method().decode()
        scope["path"] = url.decode()
        scope["raw_path"] = url
        scope["query_string"] = b""
        if version != "1.1":
            scope["http_version"] = version
        ready = self._answer_at_once(scope)
        if ready is None:
            return False
        self.cycle = ANSWERED
        self._write_at_once(version != "1.0" and parser.should_keep_alive(), *ready)
        return True

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        # An answer written at once may have armed the keep-alive timer while this request
        # (pipelined behind it) was parsed: this one must not be cut off by it.
        self._unset_keepalive_if_required()
        ready = None
        if app is self.app and not cycle.waiting_for_100_continue:  # not uvicorn's 503
            ready = self._answer_at_once(cycle.scope)
        if ready is None:
            super()._start_asgi_task(cycle, app)
        else:
            cycle.response_started = cycle.response_complete = True
            cycle.message_event.set()
            self._write_at_once(cycle.keep_alive, *ready)

    def _answer_at_once(self, scope: Any) -> Ready | None:
        if (
            self._at_once is None
            or self.flow.write_paused  # the client is not reading: the app waits for it
            or self.transport.is_closing()
        ):
            return None
        return self._at_once(scope)

    # A lazy keep-alive timer. uvicorn cancels the connection's timer when data arrives and
    # arms a new one after each response: two timer handles and a heap push per request, a
    # sixth of a cached tile's cost. Here one timer stays armed; activity only clears the
    # deadline, a response sets it, and the timer, when due, closes the connection only if it
    # has been idle since — otherwise it sleeps until the deadline it finds. The timeout is
    # kept to the same instant as uvicorn's.
    def _unset_keepalive_if_required(self) -> None:
        self._idle_deadline = None

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_deadline = None
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_deadline = deadline = self.loop.time() + self.timeout_keep_alive
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_at(deadline, self._keep_alive_due)

    def _keep_alive_due(self) -> None:
        self.timeout_keep_alive_task = None
        deadline = self._idle_deadline
        if deadline is None:
            return  # a request is being answered; its response arms the timer again
        if self.loop.time() < deadline:
            self.timeout_keep_alive_task = self.loop.call_at(deadline, self._keep_alive_due)
        else:
            self.timeout_keep_alive_handler()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        super().connection_lost(exc)

    def _default_lines(self) -> bytes:
        """uvicorn's default headers (date, server) as lines; its list is replaced each second."""
        defaults = self.server_state.default_headers
        if defaults is not self._defaults:
            self._defaults, self._default_wire = defaults, _wire(defaults)
        return self._default_wire

    def _write_at_once(self, keep_alive: bool, status: int, headers: Headers, body: bytes) -> None:
        """What ``RequestResponseCycle.send`` writes for this answer, in one write."""
        lines = headers.wire() if isinstance(headers, WireHeaders) else _wire(headers)
        close = b"" if keep_alive else b"connection: close\r\n"
        head = b"".join((STATUS_LINE[status], self._default_lines(), lines, close, b"\r\n"))
        self._coalescing.write_response(head, body)
        if not keep_alive:
            self.transport.close()
        self.on_response_complete()


class _Answered:
    """The connection's cycle after an answer written at once: complete, so uvicorn's
    callbacks for the rest of that request (body, end, disconnect) leave it alone."""

    response_complete = True
    disconnected = False
    keep_alive = True
    message_event = asyncio.Event()  # set by uvicorn on disconnect; nobody waits on it


ANSWERED = cast(RequestResponseCycle, _Answered())


def _wire(headers: Headers) -> bytes:
    return b"".join(b"%s: %s\r\n" % pair for pair in headers)


def answerer_of(app: Any) -> AnswerAtOnce | None:
    """The app's ``answer_at_once`` under uvicorn's wrappers (proxy headers, the factory)."""
    for _ in range(4):
        found = getattr(app, "answer_at_once", None)
        if found is not None:
            return found  # type: ignore[no-any-return]
        app = getattr(app, "app", None)
    return None
