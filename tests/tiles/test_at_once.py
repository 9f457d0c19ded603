"""Cache hits written by the HTTP protocol itself (``answer_at_once``) are byte for byte what
uvicorn sends for the same answer through ASGI: every header in order, the body, the status
line, ``connection: close`` where the connection ends, pipelined requests in order — on real
sockets, OneMap's protocol against uvicorn's own, both serving the same cache. One header
differs by design: an answer through ASGI carries the request's id (``X-Request-Id``, made
there when the client sent none), one written at once none (no log line to match it; a
client that names its request is answered through ASGI, which echoes the id)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest

from layers.settings import ServiceSettings
from ogc.app import create_app
from ogc.routers.tiles_fastpath import TileCacheFastPath
from tests.helpers.live import LiveServer, live_server
from tests.tiles.helpers import tile_at

LISTED = "https://maps.example.gov.cn"
DATE = re.compile(rb"\r\ndate: [^\r]*")
MADE_REQUEST_ID = re.compile(rb"\r\nx-request-id: [0-9a-f]{12}-[0-9a-f]+")
Pair = tuple[LiveServer, LiveServer, TileCacheFastPath]


@pytest.fixture(scope="module")
def servers(tile_settings: ServiceSettings) -> Iterator[Pair]:
    settings = tile_settings.model_copy(update={"cors_origins": [LISTED]})
    ours, theirs = create_app(settings), create_app(settings)
    with (
        live_server(ours) as at_once,
        live_server(theirs, protocol="httptools") as through_asgi,
    ):
        layer = ours.fast_layer  # type: ignore[attr-defined]
        assert isinstance(layer, TileCacheFastPath)
        yield at_once, through_asgi, layer


def _path(z: int = 8) -> str:
    row, col = tile_at("WebMercatorQuad", z)
    return f"/collections/gd-counties/tiles/WebMercatorQuad/{z}/{row}/{col}"


def _exchange(server: LiveServer, raw: bytes, responses: int = 1) -> bytes:
    """Send ``raw`` on one connection and read ``responses`` whole responses back."""
    methods = [request.split(b" ", 1)[0] for request in raw.split(b"\r\n\r\n")[:responses]]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(raw)
        reader = _Reader(conn)
        data = b"".join(reader.response(method) for method in methods)
    return MADE_REQUEST_ID.sub(b"", DATE.sub(b"\r\ndate: -", data))


class _Reader:
    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buffer = b""

    def _more(self) -> None:
        chunk = self.conn.recv(65536)
        assert chunk, "the server closed the connection early"
        self.buffer += chunk

    def response(self, method: bytes) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        length = re.search(rb"\r\ncontent-length: (\d+)", head)
        has_body = method != b"HEAD" and b" 304 " not in head.split(b"\r\n")[0]
        size = int(length.group(1)) if length and has_body else 0
        while len(self.buffer) < size:
            self._more()
        body, self.buffer = self.buffer[:size], self.buffer[size:]
        return head + b"\r\n\r\n" + body


def _request(method: str, path: str, headers: dict[str, str], version: str = "1.1") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _warm(pair: Pair, path: str, encoding: str = "gzip") -> None:
    at_once, through_asgi, _ = pair
    for server in (at_once, through_asgi, at_once, at_once):  # made, stored, remembered
        _exchange(server, _request("GET", path, {"Accept-Encoding": encoding}))


def _same(pair: Pair, raw: bytes, responses: int = 1) -> bytes:
    at_once, through_asgi, _ = pair
    ours, theirs = _exchange(at_once, raw, responses), _exchange(through_asgi, raw, responses)
    assert ours == theirs, raw
    return ours


def test_every_hit_is_what_uvicorn_sends_through_asgi(servers: Pair) -> None:
    path = _path()
    _warm(servers, path)
    etag = re.search(rb'etag: ("[^"]+")', _same(servers, _request("HEAD", path, {})))
    assert etag is not None
    _warm(servers, path, "identity")  # decompressed once, remembered beside the stored one
    plain = _exchange(servers[1], _request("GET", path, {})).split(b"\r\n\r\n")[0]
    plain_etag = re.search(rb'etag: ("[^"]+")', plain)
    assert plain_etag is not None and plain_etag.group(1).endswith(b'.identity"')
    before, asked = servers[2].at_once, 0
    for method in ("GET", "HEAD"):
        for encoding, tag in (("gzip", etag), ("identity", plain_etag)):
            for origin in (None, LISTED, "https://elsewhere.example"):
                for validator in (None, tag.group(1).decode()):
                    headers = {"Accept-Encoding": encoding}
                    headers |= {"Origin": origin} if origin else {}
                    headers |= {"If-None-Match": validator} if validator else {}
                    _same(servers, _request(method, path, headers))
                    asked += 1
    assert servers[2].at_once - before == asked  # every one of them written by the protocol


def test_an_empty_tile_is_the_same_204(servers: Pair) -> None:
    row, col = tile_at("WebMercatorQuad", 10, 117.2, 20.3)  # the sea inside the limits
    path = f"/collections/gd-counties/tiles/WebMercatorQuad/10/{row}/{col}"
    _warm(servers, path)
    _warm(servers, path, "identity")
    before = servers[2].at_once
    for encoding in ("gzip", "identity"):
        answer = _same(servers, _request("GET", path, {"Accept-Encoding": encoding}))
        assert answer.startswith(b"HTTP/1.1 204 No Content\r\n")
    assert servers[2].at_once - before == 2


def test_what_the_protocol_does_not_answer_goes_to_the_app(servers: Pair) -> None:
    path = _path()
    _warm(servers, path)
    before = servers[2].at_once
    for raw in (
        _request("GET", path + "?f=mvt", {"Accept-Encoding": "gzip"}),
        _request("GET", path, {"Accept-Encoding": "gzip", "X-OneMap-Key": "not-a-key"}),
        _request("GET", path, {"Accept-Encoding": "gzip", "Authorization": "Basic eDp5"}),
    ):
        _same(servers, raw)
    assert servers[2].at_once == before


def test_escaped_and_absolute_urls_are_parsed_by_uvicorn_first(servers: Pair) -> None:
    """Such requests skip the answer before the cycle; once uvicorn has parsed their path
    they are still answered at once, with the same bytes."""
    path = _path()
    _warm(servers, path)
    before = servers[2].at_once
    for raw in (
        _request("GET", path.replace("-counties", "%2Dcounties"), {"Accept-Encoding": "gzip"}),
        _request("GET", "http://127.0.0.1" + path, {"Accept-Encoding": "gzip"}),
    ):
        assert b" 200 OK" in _same(servers, raw)
    assert servers[2].at_once - before == 2


def test_closing_and_pipelined_connections(servers: Pair) -> None:
    path, other = _path(), _path(9)
    _warm(servers, path)
    _warm(servers, other)
    before = servers[2].at_once
    closing = _same(servers, _request("GET", path, {"Accept-Encoding": "gzip"}, "1.0"))
    assert closing.split(b"\r\n\r\n")[0].endswith(b"\r\nconnection: close")
    pipelined = b"".join(
        [
            _request("GET", path, {"Accept-Encoding": "gzip"}),
            _request("GET", "/collections/gd-counties", {"Accept": "application/json"}),
            _request("HEAD", other, {"Accept-Encoding": "gzip"}),
            _request("GET", other, {"Accept-Encoding": "gzip", "Connection": "close"}),
        ]
    )
    answers = _same(servers, pipelined, responses=4)
    assert answers.count(b"HTTP/1.1 200 OK\r\n") == 4
    assert servers[2].at_once - before == 4  # the routed one in the middle kept its place
