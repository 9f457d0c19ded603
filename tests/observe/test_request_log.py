"""Request ids, the JSON request log and the slow-query log, on the real app and database."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from layers.db import open_pool_lazily
from layers.settings import ServiceSettings
from layers.slow_queries import about_layer, begin_request
from ogc.app import create_app
from ogc.observe.logs import formatter_for
from ogc.observe.route_class import route_class
from tests.conftest import PUBLISHER_TOKEN


class Lines:
    """What one logger wrote through the service's own JSON formatter, parsed."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def parsed(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_for("json"))
    loggers = [logging.getLogger(name) for name in ("onemap.request", "onemap.slow_query")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield Lines(stream)
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def logged(observed_settings: ServiceSettings) -> Iterator[TestClient]:
    settings = observed_settings.model_copy(update={"access_log": True, "slow_query_ms": 1})
    app = create_app(settings)
    assert app.answer_at_once is None  # type: ignore[attr-defined]  # every request logged
    with TestClient(app) as client:
        yield client


def test_one_json_line_per_request(logged: TestClient, json_lines: Lines) -> None:
    answer = logged.get("/collections/gd-counties/items?limit=100")
    assert answer.status_code == 200
    admin = logged.get("/admin/keys", headers={"Authorization": f"Bearer {PUBLISHER_TOKEN}"})
    assert admin.status_code == 200
    keyed = logged.get("/collections/gd-counties/items?tk=s3cr3t-key")
    assert keyed.status_code == 401
    requests = [line for line in json_lines.parsed() if line["logger"] == "onemap.request"]
    assert len(requests) == 3
    items, keys, refused = requests
    assert items["request_id"] == answer.headers["x-request-id"]
    assert (items["method"], items["route"], items["status"]) == ("GET", "items", 200)
    assert items["path"] == "/collections/gd-counties/items"  # no query string
    assert items["caller_kind"] == "anonymous" and items["caller_subject"] is None
    assert isinstance(items["duration_ms"], float) and items["duration_ms"] > 0
    assert (keys["route"], keys["caller_kind"], keys["caller_subject"]) == ("admin", "key", "token")
    assert (refused["status"], refused["caller_kind"]) == (401, "key")  # who tried
    text = json_lines.stream.getvalue()
    assert "s3cr3t" not in text and PUBLISHER_TOKEN not in text


def test_slow_queries_name_their_layer_and_request(logged: TestClient, json_lines: Lines) -> None:
    answer = logged.get("/collections/gd-counties/items?limit=100")  # > 1 ms: ONEMAP_SLOW_QUERY_MS
    assert answer.status_code == 200
    lines = json_lines.parsed()
    slow = [line for line in lines if line["request_id"] == answer.headers["x-request-id"]]
    slow = [line for line in slow if line["logger"] == "onemap.slow_query"]
    assert slow, "no slow query logged at a 1 ms threshold"
    assert {line["layer_id"] for line in slow} == {"gd-counties"}
    assert all(float(str(line["duration_ms"])) >= 1 for line in slow)


async def test_only_statements_past_the_threshold_are_logged(
    sample_url: str, json_lines: Lines
) -> None:
    pool = open_pool_lazily(
        sample_url, min_size=1, max_size=1, statement_timeout_ms=5000, slow_query_ms=150
    )
    await pool.open()
    try:
        begin_request("req-slow")
        about_layer("gd-cities")
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
            await conn.execute("SELECT pg_sleep(0.2)")
    finally:
        await pool.close()
    (line,) = [line for line in json_lines.parsed() if line["logger"] == "onemap.slow_query"]
    assert (line["layer_id"], line["request_id"]) == ("gd-cities", "req-slow")
    assert 200 <= float(str(line["duration_ms"])) < 5000
    assert "pg_sleep(0.2)" in str(line["message"])


@pytest.mark.parametrize(
    ("given", "echoed"),
    [
        ("abc-123.DEF:trace/1", True),
        ("has space", False),
        ("x" * 101, False),
        ("line\u00e9", False),
    ],
)
def test_request_ids_sane_echoed_else_made(client: TestClient, given: str, echoed: bool) -> None:
    answer = client.get("/healthz", headers={"X-Request-Id": given.encode()})
    found = answer.headers["x-request-id"]
    assert (found == given) is echoed, found
    if not echoed:
        assert len(found) < 40 and found != given


def test_made_ids_differ(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/collections/gd-counties/tiles/WebMercatorQuad/8/1/2", "tiles"),
        ("/collections/gd-counties/map/tiles/WebMercatorQuad/8/1/2", "tiles"),
        ("/tiles/WebMercatorQuad/1/0/0", "tiles"),
        ("/collections/gd-counties/items", "items"),
        ("/collections/gd-counties/items/7", "feature"),
        ("/collections/gd-counties/items/7/versions", "feature"),
        ("/search", "search"),
        ("/wmts/1.0.0/WMTSCapabilities.xml", "wmts"),
        ("/jobs/abc", "processes"),
        ("/admin/keys", "admin"),
        ("/readyz", "health"),
        ("/viewer", "html"),
        ("/collections/gd-counties/queryables", "other"),
        ("/", "other"),
    ],
)
def test_route_classes(path: str, expected: str) -> None:
    assert route_class(path) == expected


def test_pages_count_as_html(observed_settings: ServiceSettings) -> None:
    from ogc.observe.request_metrics import RequestMetrics

    app = create_app(observed_settings)
    with TestClient(app) as client:
        assert client.get("/collections?f=html").status_code == 200
    metrics = app.state.onemap.metrics
    requests: RequestMetrics = metrics.requests
    assert requests.counts.get(("html", 200)) == 1
