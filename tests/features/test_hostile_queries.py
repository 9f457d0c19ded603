"""Hostile input on items, single features, queryables and collections: a 4xx naming the
parameter, never a 500 nor a reset (each case below answered 500 or a misleading 200 before).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from layers.settings import ServiceSettings
from ogc.errors import MAX_DETAIL
from tests.helpers.live import live_server

ITEMS = "/collections/feat-events/items"
NUL = "\x00"


def _nested_json(depth: int) -> str:
    leaf = '{"op":"=","args":[{"property":"name"},"x"]}'
    return '{"op":"not","args":[' * depth + leaf + "]}" * depth


def _collections(inner: str, depth: int) -> str:
    return "GEOMETRYCOLLECTION(" * depth + inner + ")" * depth


def _geojson_collections(depth: int) -> str:
    geometry = '{"type":"Point","coordinates":[113,23]}'
    for _ in range(depth):
        geometry = '{"type":"GeometryCollection","geometries":[' + geometry + "]}"
    return '{"op":"s_intersects","args":[{"property":"geometry"},' + geometry + "]}"


def _json(params: dict[str, str]) -> dict[str, str]:
    return params | {"filter-lang": "cql2-json"}


SORT_KEYS = ",".join(["name", "-adcode", "magnitude"] * 40)  # 120 keys (was TooManyArguments)

CASES = {
    # parameter named in the message: (query parameters, expected status, text in the message)
    "sortby 120 keys": ({"sortby": SORT_KEYS}, 200, None),
    "sortby 120 keys csv": ({"sortby": SORT_KEYS, "f": "csv"}, 200, None),
    "sortby NUL": ({"sortby": NUL}, 400, "sortby"),
    "cql2-json nested 900": (_json({"filter": _nested_json(900)}), 400, "cql2-json"),
    "cql2-json nested 150": (_json({"filter": _nested_json(150)}), 400, "nests more than"),
    "cql2-json nested arrays": (
        _json(
            {"filter": '{"op":"in","args":[{"property":"name"},' + "[" * 3000 + "]" * 3000 + "]}"}
        ),
        400,
        "cql2-json",
    ),
    "cql2-json string": (_json({"filter": '"x"'}), 400, "filter must be a condition"),
    "cql2-json 5000 digits": (
        _json({"filter": '{"op":"=","args":[{"property":"magnitude"},' + "9" * 5000 + "]}"}),
        400,
        "cql2-json",
    ),
    "cql2-text parentheses": ({"filter": "(" * 5000 + "name='x'" + ")" * 5000}, 400, "filter"),
    "cql2-text NOT chain": ({"filter": "NOT " * 5000 + "name='x'"}, 400, "filter"),
    "cql2-text 5000 digits": ({"filter": "magnitude = " + "9" * 5000}, 400, "finite"),
    "cql2-text huge IN": ({"filter": "name IN (" + ",".join(["'a'"] * 5000) + ")"}, 200, None),
    "cql2-text huge string": ({"filter": "name = '" + "x" * 50_000 + "'"}, 200, None),
    "cql2 LIKE lone escape csv": (
        _json({"filter": '{"op":"like","args":[{"property":"name"},"a\\\\"]}', "f": "csv"}),
        400,
        "backslash",
    ),
    "cql2-text nested collections": (
        {"filter": "S_INTERSECTS(geometry, " + _collections("POINT(1 1)", 500) + ")"},
        400,
        "nest at most",
    ),
    "cql2-json nested collections": (
        _json({"filter": _geojson_collections(300)}),
        400,
        "cql2-json filter at $.args[1]",
    ),
    "bbox NUL": ({"bbox": "1,2,3,4" + NUL}, 400, "NUL"),
    "limit NUL": ({"limit": NUL}, 400, "'limit'"),
    "limit 5000 digits": ({"limit": "9" * 5000}, 400, "limit"),
    "offset beyond bigint": ({"offset": "9" * 26}, 400, "offset"),
    "offset 5000 digits": ({"offset": "9" * 5000}, 400, "offset"),
    "datetime last day": ({"datetime": "9999-12-31"}, 200, None),
    "datetime NUL inside": ({"datetime": "2024-01-01T00:00:00" + NUL + "Z"}, 400, "datetime"),
    "datetime huge": ({"datetime": "x" * 30_000}, 400, "datetime"),
    "crs NUL": ({"crs": NUL}, 400, "'crs'"),
    "crs huge": ({"crs": "http://www.opengis.net/def/crs/EPSG/0/" + "9" * 5000}, 400, "crs"),
    "bbox-crs NUL": ({"bbox": "1,2,3,4", "bbox-crs": NUL}, 400, "bbox-crs"),
    "filter-crs huge": (
        {"filter": "name = 'x'", "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/" + "9" * 99},
        400,
        "filter-crs",
    ),
    "properties NUL": ({"properties": NUL}, 400, "properties"),
    "q NUL": ({"q": NUL}, 400, "'q'"),
    "q huge": ({"q": "x" * 50_000}, 200, None),
    "within NUL": ({"within": "440106" + NUL}, 400, "within"),
    "f NUL": ({"f": "json" + NUL}, 400, "f="),
    "lang NUL": ({"lang": NUL}, 400, "lang"),
    "queryable NUL": ({"name": NUL + "*"}, 400, "'name'"),
    "after 5000 digits": ({"after": "9" * 5000}, 400, "after"),
    "before beyond bigint": ({"before": "9" * 30}, 400, "before"),
    "after object in token": ({"sortby": "name", "after": "W3siYSI6MX0sIDFd"}, 400, "after"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_hostile_items_parameters(client: TestClient, events_layer: str, case: str) -> None:
    params, status, text = CASES[case]
    response = client.get(ITEMS, params=params)
    assert response.status_code == status, response.text[:300]
    if text is not None:
        assert text in response.json()["description"], response.text[:300]
    if status == 200 and params.get("f") == "csv":
        assert response.text.startswith("id,")


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        (f"{ITEMS}/{'9' * 5000}", {}, 404),  # was ValueError (int digits limit)
        (f"{ITEMS}/{'9' * 5000}", {"f": "html"}, 404),
        (f"{ITEMS}/9223372036854775808", {}, 404),
        (f"{ITEMS}/１２", {}, 404),  # full-width digits are not an id
        (f"{ITEMS}/1", {"crs": NUL}, 400),
        (f"{ITEMS}/1", {"properties": NUL}, 400),
        ("/collections/feat-events/queryables", {"f": NUL}, 400),
        ("/collections/feat-events", {"f": NUL}, 400),
        ("/collections", {"f": "x" * 30_000}, 400),
        (f"/collections/{'x' * 20_000}/items", {}, 404),
    ],
)
def test_hostile_paths(
    client: TestClient, events_layer: str, path: str, params: dict[str, str], status: int
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status, response.text[:300]
    assert len(response.json()["description"]) <= MAX_DETAIL + 1  # long values are cut


@pytest.fixture(scope="module")
def live_port(settings: ServiceSettings) -> Iterator[int]:
    from ogc.app import create_app

    with live_server(create_app(settings), log_level="error") as live:
        yield live.port


def _raw_get(port: int, target: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        sock.sendall(b"GET " + target + head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    "query",
    [
        b"q=" + b"x" * 200_000,  # a 200 kB URL: beyond what a client library would send
        b"filter=" + b"%28" * 20_000 + b"name%3D%27x%27" + b"%29" * 20_000,
        b"sortby=" + b"name%2C" * 20_000 + b"name",
        b"bbox=1,2,3,4%00",
    ],
    ids=["huge-q", "deep-parentheses", "sortby-20000-keys", "nul-in-bbox"],
)
def test_live_server_answers_hostile_urls_with_a_4xx(
    live_port: int, events_layer: str, query: bytes
) -> None:
    answer = _raw_get(live_port, ITEMS.encode() + b"?" + query)
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500 or status == 200, answer[:300]
    assert b"Internal Server Error" not in answer
