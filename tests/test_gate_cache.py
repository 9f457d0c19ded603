"""The gate and the tile cache: a tile cached for one scope is never served to another, and
a cached public tile still takes the fast path (for anonymous callers only).

Tiles are planted in the cache under one scope's key with a marker layer in them; the
other scope's answer, decoded, must be the real tile, never the marker.
"""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import mapbox_vector_tile
from fastapi.testclient import TestClient

from layers.access.caller import ANONYMOUS
from ogc.gate.caller import PUBLISHER
from ogc.http.policy import ResponsePolicy
from ogc.routers.tiles_fastpath import TileCacheFastPath
from tests.conftest import PUBLISHER as PUBLISHER_HEADERS
from tests.conftest import PUBLISHER_TOKEN
from tests.gate_fixtures import INTERNAL, PUBLIC, catalog_of, gate_client
from tests.tiles.helpers import decode, tile_at
from tiles.cache import TileCache
from tiles.plan import TilePlan
from tiles.service import tile_key

__all__ = ["gate_client"]  # the fixture
TMS = "WebMercatorQuad"


def _cache(client: TestClient) -> TileCache:
    return TileCache(client.app.state.onemap.settings.tiles_dir)  # type: ignore[attr-defined]


def _plant(client: TestClient, layer_id: str, z: int, row: int, col: int, scope: str) -> None:
    """A tile whose only layer is named 'planted', where ``scope``'s tile of ``layer_id`` goes."""
    layer = catalog_of(client).layers[layer_id]
    plan = TilePlan.of(layer)
    key = tile_key(plan, TMS, z, row, col, "mvt", layer.field_names, scope=scope)
    marker = {"name": "planted", "features": [{"geometry": "POINT(1 1)", "properties": {}}]}
    _cache(client).put(key, gzip.compress(mapbox_vector_tile.encode([marker])))


def _layers_of(client: TestClient, path: str, headers: dict[str, str]) -> set[str]:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, (path, answer.text)
    return set(decode(answer.content))


def test_a_tile_cached_for_the_public_is_never_served_to_the_publisher(
    gate_client: TestClient,
) -> None:
    """The public layer marks a field internal, so the publisher's view differs: its own key."""
    row, col = tile_at(TMS, 9)
    _plant(gate_client, PUBLIC, 9, row, col, "public")
    path = f"/collections/{PUBLIC}/tiles/{TMS}/9/{row}/{col}"
    assert _layers_of(gate_client, path, {}) == {"planted"}  # the public's key holds it
    assert _layers_of(gate_client, path, PUBLISHER_HEADERS) == {PUBLIC}


def test_a_tile_cached_for_the_publisher_is_never_served_to_the_public(
    gate_client: TestClient,
) -> None:
    row, col = tile_at(TMS, 10)
    _plant(gate_client, PUBLIC, 10, row, col, PUBLISHER.scope)
    path = f"/collections/{PUBLIC}/tiles/{TMS}/10/{row}/{col}"
    assert _layers_of(gate_client, path, PUBLISHER_HEADERS) == {"planted"}
    for _ in range(2):  # the route, then the fast path from disk or memory
        assert _layers_of(gate_client, path, {}) == {PUBLIC}
    wmts = f"/wmts/1.0.0/{PUBLIC}/default/{TMS}/10/{row}/{col}.pbf"
    assert _layers_of(gate_client, wmts, {}) == {PUBLIC}


def test_a_hidden_layers_cached_tile_is_not_served_to_the_public(
    gate_client: TestClient,
) -> None:
    row, col = tile_at(TMS, 9)
    path = f"/collections/{INTERNAL}/tiles/{TMS}/9/{row}/{col}"
    assert _layers_of(gate_client, path, PUBLISHER_HEADERS) == {INTERNAL}  # cached now
    layer = catalog_of(gate_client).layers[INTERNAL]
    plan = TilePlan.of(layer)
    stored = tile_key(plan, TMS, 9, row, col, "mvt", layer.field_names, scope=PUBLISHER.scope)
    assert _cache(gate_client).get(stored)  # under the publisher's scope
    _plant(gate_client, INTERNAL, 9, row, col, "public")  # even a tile under the public key
    for _ in range(2):
        assert gate_client.get(path).status_code == 404
        assert gate_client.get(path.replace("/tiles/", "/map/tiles/")).status_code == 404


def _call(client: TestClient, fast: Any, path: str, headers: list[tuple[bytes, bytes]]) -> Any:
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [(b"accept-encoding", b"gzip"), *headers],
        "app": client.app,
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(fast(scope, receive, send))
    return sent, scope


def test_the_cached_public_tile_still_takes_the_fast_path(gate_client: TestClient) -> None:
    row, col = tile_at(TMS, 11)
    path = f"/collections/{PUBLIC}/tiles/{TMS}/11/{row}/{col}"
    routed = gate_client.get(path)
    assert routed.status_code == 200  # made and cached by the route
    handed_over: list[Any] = []

    async def framework(scope: Any, receive: Any, send: Any) -> None:
        handed_over.append(scope)

    policy = ResponsePolicy.of(gate_client.app.state.onemap.settings)  # type: ignore[attr-defined]
    fast = TileCacheFastPath(framework, policy)
    sent, scope = _call(gate_client, fast, path, [])
    assert not handed_over and sent[0]["status"] == 200
    assert gzip.decompress(sent[1]["body"]) == routed.content
    assert scope["onemap.caller"] is ANONYMOUS  # resolved once, kept for the framework
    # The publisher's answers are private: the fast path hands them to the routes.
    token = (b"authorization", f"Bearer {PUBLISHER_TOKEN}".encode())
    sent, scope = _call(gate_client, fast, path, [token])
    assert sent == [] and len(handed_over) == 1
    assert handed_over[0]["onemap.caller"] is PUBLISHER
    # A hidden layer's cached tile is never taken by the fast path either.
    row, col = tile_at(TMS, 9)
    hidden = f"/collections/{INTERNAL}/tiles/{TMS}/9/{row}/{col}"
    _plant(gate_client, INTERNAL, 9, row, col, "public")
    sent, _ = _call(gate_client, fast, hidden, [])
    assert sent == [] and len(handed_over) == 2
