"""Request caps (ONEMAP_MAX_URL_BYTES, _HEADER_BYTES, _BODY_MB; the CQL2 filter's size), the
one NUL rule, and 1 MB values and raw path traversal sent to the real server (uvicorn with
OneMap's protocol) on a socket: answered 4xx in full, never a reset or a file's bytes."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from layers.cql2 import parse_filter
from layers.cql2.compiler import MAX_FILTER_CHARS
from layers.errors import InvalidParameter
from layers.settings import ServiceSettings
from tests.conftest import PUBLISHER
from tests.helpers.live import LiveServer, live_server
from tests.hostile.operations import Operation, operations
from tests.hostile.payloads import message_of

MB = 1024 * 1024
EXECUTE = "/processes/buffer-zones/execution"


@pytest.fixture(scope="module")
def capped(settings: ServiceSettings) -> Iterator[TestClient]:
    from ogc.app import create_app

    small = settings.model_copy(
        update={"max_url_bytes": 4096, "max_header_bytes": 4096, "max_body_mb": 1}
    )
    with TestClient(create_app(small), raise_server_exceptions=False) as client:
        yield client


def test_a_url_beyond_the_cap_is_a_414_naming_the_setting(capped: TestClient) -> None:
    response = capped.get("/search", params={"q": "x" * 5000})
    assert response.status_code == 414
    assert "ONEMAP_MAX_URL_BYTES" in message_of(response)
    assert len(response.content) < 2000  # the URL is not quoted back
    fits = capped.get("/collections/gd-counties/items", params={"q": "x" * 3000, "limit": 1})
    assert fits.status_code == 200


def test_header_fields_beyond_the_cap_are_a_431(capped: TestClient) -> None:
    response = capped.get("/collections", headers={"X-Padding": "x" * 5000})
    assert response.status_code == 431
    assert "ONEMAP_MAX_HEADER_BYTES" in message_of(response)
    assert capped.get("/collections", headers={"X-Padding": "x" * 3000}).status_code == 200


def test_a_declared_body_beyond_the_cap_is_refused_before_the_route(capped: TestClient) -> None:
    body = b'{"inputs": {"x": "' + b"x" * (MB + 10) + b'"}}'
    headers = {"Content-Type": "application/json"}
    response = capped.post(EXECUTE, content=body, headers=headers)
    assert response.status_code == 413
    assert "ONEMAP_MAX_BODY_MB" in message_of(response)
    assert response.headers["connection"] == "close"  # the unread body is not drained


def test_a_streamed_body_is_cut_at_the_cap(capped: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"inputs": {"x": "'
        for _ in range(12):
            yield b"x" * 100_000
        yield b'"}}'

    response = capped.post(EXECUTE, content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "ONEMAP_MAX_BODY_MB" in message_of(response)


def test_a_body_under_the_cap_reaches_the_route(capped: TestClient) -> None:
    body = b'{"inputs": {"x": "' + b"x" * (MB - 100) + b'"}}'
    response = capped.post(EXECUTE, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400  # the process's own answer to a bad input
    assert "ONEMAP_MAX_BODY_MB" not in message_of(response)


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ("/admin/keys?department=gd%00nr", "'department'"),  # was a 500 (DataError)
        ("/admin/audit?actor=%00", "'actor'"),
        ("/search?q=%E5%A4%A9%00", "'q'"),
    ],
)
def test_a_nul_anywhere_in_the_query_is_one_400(
    hostile: TestClient, target: str, named: str
) -> None:
    response = hostile.get(target, headers=PUBLISHER)
    assert response.status_code == 400, response.text
    assert "NUL" in message_of(response) and named in message_of(response)


@pytest.mark.parametrize(
    ("target", "answer"),
    [("/jobs/ab%00cd", "job"), ("/collections/gd%00counties/items", "collection")],
)
def test_a_nul_in_the_path_names_nothing(hostile: TestClient, target: str, answer: str) -> None:
    """Each route answers a path segment with a NUL in its own protocol: no such thing."""
    response = hostile.get(target, headers=PUBLISHER)
    assert response.status_code == 404, response.text
    assert answer in message_of(response)


def test_a_filter_beyond_its_size_cap_is_refused_before_parsing(hostile: TestClient) -> None:
    too_long = "name IN (" + ",".join(["'a'"] * (MAX_FILTER_CHARS // 4)) + ")"
    with pytest.raises(InvalidParameter, match="characters long"):
        parse_filter(too_long, "cql2-text")
    inputs = {"sites": {"collection": "gd-counties", "filter": too_long}, "distance_m": 100}
    response = hostile.post(EXECUTE, json={"inputs": inputs})
    assert response.status_code == 400
    assert "characters long" in message_of(response)
    assert parse_filter("name IN (" + ",".join(["'a'"] * 1000) + ")", "cql2-text") is not None


# --- the real server on a socket ---------------------------------------------------------


@pytest.fixture(scope="module")
def live(settings: ServiceSettings) -> Iterator[LiveServer]:
    from ogc.app import create_app

    with live_server(create_app(settings), log_level="critical") as server:
        yield server


def _exchange(port: int, head: bytes) -> bytes:
    """Send a request head, read the whole answer (the server closes: Connection: close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _get(port: int, target: bytes, extra: bytes = b"") -> tuple[int, bytes]:
    head = b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    answer = _exchange(port, head + extra + b"\r\n")
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), rest


def _one_megabyte_targets(ops: list[Operation]) -> list[bytes]:
    big = "x" * MB
    targets = []
    for op in ops:
        if op.method != "GET":
            continue
        param = (op.query_params or op.path_params or (None,))[0]
        url = op.url(param, big) if param else f"{op.url()}?f={big}"
        targets.append(url.encode())
    return targets


PARSER_REFUSAL = b"Invalid HTTP request received."  # uvicorn's 400: httptools reads < 64 KiB


def test_one_megabyte_values_on_every_operation_are_refused_in_full(live: LiveServer) -> None:
    api = httpx.get(f"{live.url}/api?f=json", headers=PUBLISHER, timeout=30).json()
    targets = _one_megabyte_targets(operations(api))
    assert len(targets) > 30
    for target in targets:
        status, rest = _get(live.port, target)
        assert status == 400 and rest.endswith(PARSER_REFUSAL), (target[:80], rest[:300])
    # what the parser still reads is the cap's: a problem document naming the setting
    status, rest = _get(live.port, b"/collections?q=" + b"x" * 63_000 + b"%20" * 200)
    assert status == 414 and b"ONEMAP_MAX_URL_BYTES" in rest and rest.endswith(b"}")


def test_a_one_megabyte_header_is_a_431(live: LiveServer) -> None:
    status, rest = _get(live.port, b"/collections", b"X-Padding: " + b"x" * MB + b"\r\n")
    assert status == 431 and b"ONEMAP_MAX_HEADER_BYTES" in rest


@pytest.mark.parametrize(
    "target",
    [
        b"/collections/../../../../etc/passwd",
        b"/viewer/assets/../../../../../../etc/passwd",
        b"/viewer/assets/..%2f..%2f..%2fapp.py",
        b"/viewer/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2fapp.py",
        b"/assets/swagger-ui/..%2f..%2f..%2f..%2fetc%2fpasswd",
        b"/assets/swagger-ui/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        b"/collections/gd-counties/tiles/..%2f..%2f..%2fetc/6/27/52",
        b"/wmts/1.0.0/..%2f..%2fetc/default/WebMercatorQuad/6/27/52.png",
        b"//etc/passwd",
    ],
)
def test_raw_path_traversal_reaches_no_file(
    live: LiveServer, forbidden: tuple[str, ...], target: bytes
) -> None:
    status, rest = _get(live.port, target)
    assert 400 <= status < 500, (status, rest[:300])
    assert b"root:" not in rest and b"import " not in rest
    head, _, body = rest.partition(b"\r\n\r\n")
    assert not [marker for marker in forbidden if marker.encode() in rest], body[:300]
    assert b"nosniff" in head.lower()
