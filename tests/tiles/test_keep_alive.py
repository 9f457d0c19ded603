"""The one-write protocol's lazy keep-alive timer keeps uvicorn's rule: a connection that
keeps asking stays open past the timeout, an idle one closes once the timeout has passed
since its last response — for cache hits the protocol writes itself and for answers that
go through ASGI alike, as uvicorn's own protocol does."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from layers.settings import ServiceSettings
from ogc.app import create_app
from ogc.routers.tiles_fastpath import TileCacheFastPath
from tests.helpers.live import LiveServer, live_server
from tests.tiles.helpers import tile_at

KEEP_ALIVE_S = 1
Servers = dict[str, tuple[LiveServer, TileCacheFastPath]]


@pytest.fixture(scope="module")
def servers(tile_settings: ServiceSettings) -> Iterator[Servers]:
    apps = create_app(tile_settings), create_app(tile_settings)
    with (
        live_server(apps[0], timeout_keep_alive=KEEP_ALIVE_S) as ours,
        live_server(apps[1], protocol="httptools", timeout_keep_alive=KEEP_ALIVE_S) as theirs,
    ):
        layers = [app.fast_layer for app in apps]  # type: ignore[attr-defined]
        assert all(isinstance(layer, TileCacheFastPath) for layer in layers)
        yield {"ours": (ours, layers[0]), "uvicorn's": (theirs, layers[1])}


def _tile_path() -> str:
    row, col = tile_at("WebMercatorQuad", 8)
    return f"/collections/gd-counties/tiles/WebMercatorQuad/8/{row}/{col}"


def _ask(conn: socket.socket, path: str) -> None:
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(65536)
        assert chunk, f"the connection closed while {path} was asked"
        head += chunk
    length = int(head.split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
    body = head.split(b"\r\n\r\n", 1)[1]
    while len(body) < length:
        body += conn.recv(65536)
    assert head.startswith(b"HTTP/1.1 200 "), head[:200]


@pytest.mark.parametrize("name", ["ours", "uvicorn's"])
@pytest.mark.parametrize("path", [_tile_path(), "/healthz"], ids=["cache-hit", "through-asgi"])
def test_a_busy_connection_stays_open_and_an_idle_one_closes_after_the_timeout(
    servers: Servers, name: str, path: str
) -> None:
    server, fast_layer = servers[name]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        _ask(conn, path)  # the first answer fills the cache: the next ones are hits
        at_once = fast_layer.at_once
        started = time.monotonic()
        while time.monotonic() - started < 2.5 * KEEP_ALIVE_S:
            time.sleep(KEEP_ALIVE_S * 0.4)
            _ask(conn, path)
        answered = time.monotonic()
        assert conn.recv(1) == b"", "an idle connection is closed by the server"
        idle = time.monotonic() - answered
    assert 0.8 * KEEP_ALIVE_S <= idle <= 3 * KEEP_ALIVE_S, f"closed after {idle:.2f} s idle"
    written_at_once = name == "ours" and path != "/healthz"
    assert (fast_layer.at_once > at_once) == written_at_once
