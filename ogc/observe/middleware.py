"""Every request through ASGI, observed once: its id, its count and latency, its log line.

The outermost layer of the app (``ogc.app.OneMapApp`` puts it in front of the fast layer),
so cached tiles answered by the fast layer are seen as well as the framework's routes. It
settles the request's id (``ogc.http.request_id``) and echoes it as ``X-Request-Id``, names
the request to the slow-query log (``layers.slow_queries``), and when the answer is sent
counts it by route class and status with its latency (``RequestMetrics``) and, with the
request log on, writes its line (``ogc.observe.request_log``). A request whose app raised
before answering counts as 500 (uvicorn's answer); one whose client left first as 499.
The protocol's at-once answers never reach ASGI: the fast layer counts them itself.
"""

from __future__ import annotations

import time

from layers.slow_queries import begin_request
from ogc.http.asgi_types import ASGIApp, Message, Receive, Scope, Send
from ogc.http.request_id import REQUEST_ID_HEADER, settle_request_id
from ogc.observe.request_log import RequestLog
from ogc.observe.request_metrics import RequestMetrics
from ogc.observe.route_class import HTML, ROUTE_KEY, route_class

CLIENT_LEFT = 499  # nginx's name for a request whose client went away before the answer


class ObserveRequests:
    def __init__(self, app: ASGIApp, metrics: RequestMetrics, log: RequestLog | None) -> None:
        self.app, self.metrics, self.log = app, metrics, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = settle_request_id(scope)
        begin_request(request_id)
        echoed = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        answer = _Answer()

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.started(message)
                # A new list: the fast layer's header lists are shared between answers.
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        except BaseException:
            answer.status = answer.status or 500
            raise
        finally:
            self._record(scope, answer, time.perf_counter() - started)

    def _record(self, scope: Scope, answer: _Answer, seconds: float) -> None:
        status = answer.status or CLIENT_LEFT
        route = scope.get(ROUTE_KEY) or (HTML if answer.html else route_class(scope["path"]))
        self.metrics.observe(route, status, seconds)
        if self.log is not None:
            self.log.write(scope, route, status, seconds)


class _Answer:
    """What the response's start said: its status and whether it is a page."""

    __slots__ = ("html", "status")

    def __init__(self) -> None:
        self.status = 0
        self.html = False

    def started(self, message: Message) -> None:
        self.status = int(message["status"])
        for name, value in message.get("headers", ()):
            if name == b"content-type":
                self.html = value.startswith(b"text/html")
                break
