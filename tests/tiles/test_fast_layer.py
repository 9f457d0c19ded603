"""The fast layer changes nothing a client sees: every request it can take, under the
default and under restricted ``ONEMAP_CORS_ORIGINS``, with no, a listed and an unlisted
Origin, gets the same status, headers (in order) and body with and without it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from layers.settings import ServiceSettings
from ogc.app import create_app
from ogc.http.policy import ResponsePolicy
from ogc.routers.tiles_fastpath import ENTRY_OVERHEAD, Hit, HotTiles, TileCacheFastPath
from tests.helpers.headers import comparable
from tests.helpers.wait import wait_for_layer
from tests.tiles.helpers import tile_at
from tiles import grids
from tiles.cache import TileCache, TileKey

LISTED = "https://maps.example.gov.cn"
ORIGINS = [None, LISTED, "https://elsewhere.example"]
ENCODINGS = ["gzip, deflate", "identity"]


@pytest.fixture(
    scope="module", params=[["*"], [LISTED, "https://other.example"]], ids=["any", "listed"]
)
def pair(
    request: pytest.FixtureRequest, tile_settings: ServiceSettings
) -> Iterator[tuple[TestClient, TestClient]]:
    settings = tile_settings.model_copy(update={"cors_origins": request.param})
    with (
        TestClient(create_app(settings)) as fast,
        TestClient(create_app(settings, fast_layer=False)) as routed,
    ):
        for client in (fast, routed):
            wait_for_layer(client, "gd-counties")
        yield fast, routed


def _paths(routed: TestClient) -> list[str]:
    paths = []
    for tms in grids.list_tms():
        row, col = tile_at(tms, 8)
        paths += [
            f"/collections/gd-counties/tiles/{tms}/8/{row}/{col}",
            f"/collections/gd-counties/map/tiles/{tms}/8/{row}/{col}",
            f"/wmts/1.0.0/gd-counties/default/{tms}/8/{row}/{col}.png",
            f"/wmts/1.0.0/gd-counties/default/{tms}/8/{row}/{col}.pbf",
            f"/tiles/{tms}/8/{row}/{col}?collections=gd-counties",
            f"/tiles/{tms}/8/{row}/{col}",
        ]
        row, col = tile_at(tms, 10, 117.2, 20.3)  # the sea inside the limits: empty tiles
        paths += [
            f"/collections/gd-counties/tiles/{tms}/10/{row}/{col}",
            f"/collections/gd-counties/map/tiles/{tms}/10/{row}/{col}",
        ]
    body = routed.get("/collections/gd-counties/items", params={"limit": 1}).json()
    fid = body["features"][0]["id"]
    paths += [f"/collections/gd-counties/items/{fid}", "/collections/gd-counties/items/999999999"]
    for path in paths:
        routed.get(path)  # fills the tile cache: the fast layer then has hits to serve
    return paths


def _same(
    fast: TestClient, routed: TestClient, method: str, path: str, headers: dict[str, str]
) -> None:
    ours = fast.request(method, path, headers=headers)
    theirs = routed.request(method, path, headers=headers)
    assert ours.status_code == theirs.status_code, (method, path, headers)
    assert comparable(ours) == comparable(theirs), (method, path, headers)
    assert ours.content == theirs.content, (method, path, headers)


def test_with_and_without_the_fast_layer_every_answer_is_the_same(
    pair: tuple[TestClient, TestClient],
) -> None:
    fast, routed = pair
    paths = _paths(routed)
    for path in paths:
        for origin in ORIGINS:
            for encoding in ENCODINGS:
                headers = {"Accept-Encoding": encoding} | ({"Origin": origin} if origin else {})
                for method in ("GET", "HEAD"):
                    _same(fast, routed, method, path, headers)
                etag = routed.get(path, headers=headers).headers.get("etag")
                if etag:
                    _same(fast, routed, "GET", path, headers | {"If-None-Match": etag})


def test_cached_tiles_keep_cors_under_restricted_origins(tile_settings: ServiceSettings) -> None:
    """The bug this layer had: a cached tile lost Access-Control-Allow-Origin."""
    settings = tile_settings.model_copy(update={"cors_origins": [LISTED]})
    row, col = tile_at("WebMercatorQuad", 8)
    path = f"/collections/gd-counties/tiles/WebMercatorQuad/8/{row}/{col}"
    with TestClient(create_app(settings)) as client:
        wait_for_layer(client, "gd-counties")
        client.get(path)  # now cached
        hit = client.get(path, headers={"Origin": LISTED})
        other = client.get(path, headers={"Origin": "https://elsewhere.example"})
        layer = client.app.fast_layer  # type: ignore[attr-defined]
        assert isinstance(layer, TileCacheFastPath)
        assert layer._hot.size > 0  # the fast layer answered
    assert hit.status_code == 200 and hit.headers["access-control-allow-origin"] == LISTED
    assert "access-control-allow-origin" not in other.headers
    assert hit.headers["vary"] == "Accept-Encoding, Origin"


def test_tile_memory_is_the_setting(tile_settings: ServiceSettings) -> None:
    """ONEMAP_TILE_MEMORY_MB bounds the tiles a worker remembers; 0 remembers none and every
    hit is read from the cache directory, with the same answer."""
    row, col = tile_at("WebMercatorQuad", 8)
    path = f"/collections/gd-counties/tiles/WebMercatorQuad/8/{row}/{col}"
    answers = {}
    for megabytes in (0, 1):
        settings = tile_settings.model_copy(update={"tile_memory_mb": megabytes})
        with TestClient(create_app(settings)) as client:
            wait_for_layer(client, "gd-counties")
            client.get(path)  # now cached on disk
            layer = client.app.fast_layer  # type: ignore[attr-defined]
            assert isinstance(layer, TileCacheFastPath)
            before = layer.cache_hits
            asked = [{"Accept-Encoding": encoding} for encoding in ENCODINGS]
            answers[megabytes] = [client.get(path, headers=headers) for headers in asked]
            assert layer.cache_hits == before + 2  # the fast layer answered both
            assert layer._hot.capacity == megabytes * 2**20
            assert (layer._hot.size > 0) == (megabytes > 0)
    for without, within in zip(answers[0], answers[1], strict=True):
        assert without.status_code == within.status_code == 200
        assert without.content == within.content
        assert comparable(without) == comparable(within)


def test_hot_tiles_forget_the_least_recently_served_first() -> None:
    hot = HotTiles(capacity=16 * (1000 + ENTRY_OVERHEAD))
    hits = {f"/t/{n}": _hit(n) for n in range(17)}
    for path, hit in hits.items():
        hot.put(path, False, hit)
        if path == "/t/1":
            assert hot.get("/t/0", False) is hits["/t/0"]  # served again: now the newest
    assert hot.get("/t/1", False) is None  # the least recently served went
    assert all(hot.get(p, False) is hits[p] for p in hits if p != "/t/1")
    assert hot.size <= hot.capacity


def _hit(n: int) -> Hit:
    key = TileKey("t", 1, "WebMercatorQuad", 12, n, n, "png")
    policy = ResponsePolicy.of(ServiceSettings())
    return Hit(key, bytes(1000), policy, False, TileCache(Path("/nonexistent")))
