"""Security headers (``ogc.http.policy.secure``): ``X-Content-Type-Options: nosniff`` on every
answer — routed, refused by the gate, the write guard or a cap, and served by the fast paths,
the protocol's at-once answers included — and on HTML the page's CSP, the frame policy and
``Referrer-Policy``. The browser side (zero violations): tests/viewer/test_csp.py."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from layers.settings import ServiceSettings
from tests.helpers.live import LiveServer, live_server

TILE = "/collections/gd-counties/tiles/WebMercatorQuad/6/27/52"
GETINFO = (
    "/wmts?SERVICE=WMTS&REQUEST=GetFeatureInfo&VERSION=1.0.0&LAYER=gd-counties&STYLE=default"
    "&FORMAT=image/png&TILEMATRIXSET=WebMercatorQuad&TILEMATRIX=6&TILEROW=27&TILECOL=52"
    "&I=128&J=128&INFOFORMAT=text/html"
)
ANSWERS = {  # what kind of answer: (method, path, headers, expected status)
    "JSON document": ("GET", "/collections", {}, 200),
    "GeoJSON page": ("GET", "/collections/gd-counties/items?limit=2", {}, 200),
    "vector tile": ("GET", TILE, {}, 200),
    "WMTS capabilities": ("GET", "/wmts/1.0.0/WMTSCapabilities.xml", {}, 200),
    "problem 404": ("GET", "/collections/no-such-layer", {}, 404),
    "gate refusal 401": ("GET", "/collections?tk=no-such-key", {}, 401),
    "write guard 403": ("DELETE", "/jobs/x", {"Origin": "http://127.0.0.2:1"}, 403),
    "cap 431": ("GET", "/collections", {"X-Padding": "x" * 70_000}, 431),
    "405": ("PUT", "/conformance", {}, 405),
    "HEAD": ("HEAD", "/collections", {}, 200),
}
HTML_PAGES = ("/?f=html", "/collections/gd-counties/items?f=html", "/api.html", "/viewer", GETINFO)


@pytest.mark.parametrize("kind", ANSWERS)
def test_every_kind_of_answer_says_nosniff(hostile: TestClient, kind: str) -> None:
    method, path, headers, status = ANSWERS[kind]
    response = hostile.request(method, path, headers=headers)
    assert response.status_code == status, response.text[:200]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "x-frame-options" not in response.headers  # an HTML header only


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_answers_carry_a_policy_and_the_frame_and_referrer_rules(
    hostile: TestClient, path: str
) -> None:
    response = hostile.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy and "'unsafe-inline'" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers.get_list("content-security-policy") == [policy]  # one, not two


def test_the_fast_paths_say_nosniff_as_the_routes_do(hostile: TestClient) -> None:
    first = hostile.get(TILE)  # made (or read) by the route; then held by the fast layer
    again = hostile.get(TILE)
    feature = hostile.get("/collections/gd-counties/items?limit=1").json()["features"][0]
    single = hostile.get(f"/collections/gd-counties/items/{feature['id']}")  # fast path
    for response in (first, again, single):
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.fixture(scope="module")
def live(settings: ServiceSettings) -> Iterator[LiveServer]:
    from ogc.app import create_app

    with live_server(create_app(settings), log_level="critical") as server:
        yield server


def test_tiles_the_protocol_answers_at_once_say_nosniff(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        answers = [client.get(TILE) for _ in range(4)]  # the later ones: hot, at once
    assert [a.status_code for a in answers] == [200] * 4
    assert all(a.headers["x-content-type-options"] == "nosniff" for a in answers)
    assert len({a.headers["etag"] for a in answers}) == 1
