"""The real app on a real socket, for clients that speak HTTP themselves (GDAL, OWSLib,
geopandas, raw sockets).

``live_server(app)`` runs it as ``onemap serve`` does — uvicorn with OneMap's one-write
HTTP protocol and the tile fast path in front — on a free 127.0.0.1 port, in a thread;
it yields once ``/readyz`` answers 200 and stops the server on the way out. A
``RequestSpy`` records what the clients asked for. ``file_server(root)`` serves plain
files, for ingest from a URL.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import uvicorn

from ogc.http.asgi_types import ASGIApp, Receive, Scope, Send
from ogc.server.http_protocol import CoalescingHttpToolsProtocol
from tests.conftest import free_port
from tests.helpers.wait import wait_for

START_TIMEOUT_S = 30.0


class RequestSpy:
    """Records the path and query of every HTTP request the server receives."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, list[str]]]] = []

    def around(self, app: ASGIApp) -> ASGIApp:
        async def spied(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                query = parse_qs(scope["query_string"].decode())
                self.seen.append((scope["path"], query))
            await app(scope, receive, send)

        return spied

    def items_requests(self, layer: str) -> list[dict[str, list[str]]]:
        return [query for path, query in self.seen if path == f"/collections/{layer}/items"]


@dataclass(frozen=True)
class LiveServer:
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def live_server(
    app: Any,
    *,
    spy: RequestSpy | None = None,
    log_level: str = "warning",
    forwarded_allow_ips: str = "127.0.0.1",
    protocol: Any = CoalescingHttpToolsProtocol,
    timeout_keep_alive: int = 5,
) -> Iterator[LiveServer]:
    """Serve ``app`` (from ``create_app``) on a free loopback port until the block ends;
    ``X-Forwarded-For`` is trusted from ``forwarded_allow_ips`` (uvicorn's proxy headers,
    as ``onemap serve`` runs with ``FORWARDED_ALLOW_IPS``); ``protocol`` is uvicorn's
    ``http`` (``"httptools"``: uvicorn's own, every request through ASGI); an idle
    connection closes after ``timeout_keep_alive`` seconds (uvicorn's default 5)."""
    asgi: Any = app  # create_app's app: its fast layer is already in front (ogc.app.OneMapApp)
    if spy is not None:
        asgi = spy.around(asgi)
    port = free_port()
    config = uvicorn.Config(
        asgi,
        host="127.0.0.1",
        port=port,
        log_level=log_level,
        lifespan="on",
        http=protocol,
        access_log=False,  # as `onemap serve` by default (ONEMAP_ACCESS_LOG)
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        timeout_keep_alive=timeout_keep_alive,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    live = LiveServer(port)
    try:
        wait_for(
            lambda: _ready(live.url) or not thread.is_alive(),
            "the live server did not become ready",
            timeout=START_TIMEOUT_S,
        )
        assert thread.is_alive() and server.started, "the live server stopped while starting"
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive(), "the live server did not stop within 10 s"


@contextmanager
def file_server(root: Path) -> Iterator[str]:
    """Serve the files under ``root`` over HTTP on a free loopback port (for URL ingest)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="file-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
