"""A read whose client has gone away stops, and so does its database query.

uvicorn tells an app that the client closed its connection only through ``receive()``
(``http.disconnect``); a route awaiting PostgreSQL never calls it, so without this its
query ran on to the statement timeout, holding a pooled connection and a backend. Here
one task reads ``receive()`` for the whole request, hands every message on to the app,
and on a disconnect before the response is complete cancels the app's task: psycopg's
cancellation sends PostgreSQL a cancel request for the running statement
(``pg_cancel_backend``'s effect), the pool gets the connection back, an admission slot
frees. Only reads (GET, HEAD) are cut: a write that was sent completes, so its outcome
never depends on when the client hung up.
"""

from __future__ import annotations

import asyncio
import contextlib

from ogc.http.asgi_types import ASGIApp, Message, Receive, Scope, Send

READS = frozenset({"GET", "HEAD"})


class CancelOnDisconnect:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in READS:
            await self.app(scope, receive, send)
            return
        await _Exchange(scope, receive, send).run(self.app)


class _Exchange:
    """One request: the app's task, the reader of ``receive()``, whether the answer ended."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope, self._receive, self._send = scope, receive, send
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.complete = False  # the last body message was sent: a disconnect is normal now

    async def run(self, app: ASGIApp) -> None:
        handler = asyncio.ensure_future(app(self.scope, self._inbox.get, self._sent))
        reader = asyncio.ensure_future(self._read(handler))
        try:
            await handler
        except asyncio.CancelledError:
            if not reader.done() or reader.cancelled() or not reader.result():
                raise  # cancelled from outside (server shutdown), not by a disconnect
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _sent(self, message: Message) -> None:
        await self._send(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.complete = True

    async def _read(self, handler: asyncio.Future[None]) -> bool:
        """Forward messages; True when a disconnect cut the answer short (``handler`` cancelled)."""
        while True:
            message = await self._receive()
            self._inbox.put_nowait(message)
            if message["type"] == "http.disconnect":
                if self.complete or handler.done():
                    return False
                handler.cancel()
                return True
