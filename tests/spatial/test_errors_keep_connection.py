"""Over a real server: a bad input is a 400 and even a bug is a 500 document — the
keep-alive connection survives both and answers the next request."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from layers.settings import ServiceSettings
from ogc.app import create_app
from spatial import DEFAULT_REGISTRY, Analysis, AnalysisResult, Context, OutputSpec
from tests.helpers.live import live_server


class NoInputs(BaseModel):
    pass


def run_bug(inputs: NoInputs, ctx: Context) -> AnalysisResult:
    raise ZeroDivisionError("a bug in an analysis")


BUG = Analysis(
    id="bug",
    title="Bug",
    description="Fails with an unexpected exception.",
    domain="planning",
    inputs=NoInputs,
    outputs={"nothing": OutputSpec("value", "Nothing")},
    run=run_bug,
)


@pytest.fixture(scope="module")
def server(settings: ServiceSettings) -> Iterator[int]:
    app = create_app(settings, registry=DEFAULT_REGISTRY.register(BUG))
    with live_server(app, log_level="critical") as live:
        yield live.port


def _post(conn: http.client.HTTPConnection, path: str, body: str) -> tuple[int, dict[str, str]]:
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def test_errors_leave_the_connection_usable(server: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    circle = {"type": "Circle", "coordinates": [113.3, 23.1], "radius": 500}
    status, body = _post(
        conn,
        "/processes/affected-area/execution",
        json.dumps({"inputs": {"incident": circle, "radius_m": 1000}}),
    )
    assert status == 400 and body["detail"].startswith("incident")
    status, body = _post(
        conn,
        "/processes/buffer-zones/execution",
        '{"inputs": {"sites": {"collection": "synthetic-water-sources"}, "distance_m": NaN}}',
    )
    assert status == 400 and body["detail"].startswith("distance_m")
    status, body = _post(
        conn, "/processes/bug/execution", '{"inputs": {}, "outputs": {"nothing": {"x": NaN}}}'
    )
    assert status == 400 and body["detail"].startswith("outputs.nothing.x")
    status, body = _post(conn, "/processes/bug/execution", '{"inputs": {}}')
    assert status == 500 and "internal error" in body["detail"]
    conn.request("GET", "/processes/bug")  # the same connection, still open
    response = conn.getresponse()
    assert response.status == 200 and json.loads(response.read())["id"] == "bug"
    conn.close()
