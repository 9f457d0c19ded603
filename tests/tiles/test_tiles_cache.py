"""The tile cache: fast-path hits, purges by layer, version and bounds, and overview tiles
(when overviews are built: tests/tiles/test_tiles_plans.py)."""

from __future__ import annotations

import asyncio
import gzip
import os
import stat
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from ogc.http.policy import ResponsePolicy
from ogc.routers.tiles_fastpath import TileCacheFastPath
from tests.tiles.conftest import DENSE_LAYER
from tests.tiles.helpers import build_mercator_overview, decode, tile_at
from tiles import grids, mvt
from tiles.cache import TileCache, TileKey


def _call(
    app: Any, fast: Any, path: str, etag: bytes | None = None, encoding: bytes = b"gzip, deflate"
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    headers = [(b"accept-encoding", encoding)]
    headers += [(b"if-none-match", etag)] if etag else []
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": headers,
        "app": app,
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(fast(scope, receive, send))
    return sent


def test_cache_hits_are_served_before_the_framework(tiles_client: TestClient) -> None:
    row, col = tile_at("WebMercatorQuad", 9)
    path = f"/collections/gd-counties/tiles/WebMercatorQuad/9/{row}/{col}"
    routed = tiles_client.get(path)
    assert routed.status_code == 200

    async def must_not_be_called(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("a cache hit reached the framework")

    fast = TileCacheFastPath(must_not_be_called, _policy(tiles_client))
    start, body = _call(tiles_client.app, fast, path)
    headers = dict(start["headers"])
    assert start["status"] == 200 and gzip.decompress(body["body"]) == routed.content
    assert headers[b"etag"].decode() == routed.headers["etag"]
    assert headers[b"content-type"] == b"application/vnd.mapbox-vector-tile"
    start, _ = _call(tiles_client.app, fast, path, etag=headers[b"etag"])
    assert start["status"] == 304
    # A miss falls through to the app.
    calls: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])

    _call(
        tiles_client.app,
        TileCacheFastPath(inner, _policy(tiles_client)),
        path.replace("/9/", "/12/"),
    )
    assert calls


def _policy(client: TestClient) -> ResponsePolicy:
    return ResponsePolicy.of(client.app.state.onemap.settings)  # type: ignore[attr-defined]


def test_fast_path_remembers_hits_and_passes_misses_on(tiles_client: TestClient) -> None:
    row, col = tile_at("WebMercatorQuad", 10)
    path = f"/collections/gd-counties/tiles/WebMercatorQuad/10/{row}/{col}"
    routed = tiles_client.get(path)
    passed: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope)

    fast = TileCacheFastPath(inner, _policy(tiles_client))
    first, again = (
        _call(tiles_client.app, fast, path),
        _call(tiles_client.app, fast, path),
    )  # disk, then memory
    assert first == again and gzip.decompress(first[1]["body"]) == routed.content
    assert first[0]["status"] == 200 and not passed
    assert (
        _call(tiles_client.app, fast, path, etag=routed.headers["etag"].encode())[0]["status"]
        == 304
    )
    _call(tiles_client.app, fast, path.replace("/10/", "/13/"))  # not cached: the app answers
    assert len(passed) == 1


def test_fast_path_leaves_empty_map_and_out_of_limits_tiles_to_the_routes(
    tiles_client: TestClient,
) -> None:
    """WMTS caches empty PNG tiles outside the tileset's limits under the keys OGC API uses;
    the fast path must not answer them (404 there) nor empty map tiles (a transparent PNG).
    An empty vector tile inside the limits it answers as the route does: 204, same tags."""
    outside = "/collections/gd-cities/map/tiles/WebMercatorQuad/9/0/0"
    wmts = tiles_client.get("/wmts/1.0.0/gd-cities/default/WebMercatorQuad/9/0/0.png")
    assert wmts.status_code == 200  # a transparent tile, now cached empty
    row, col = tile_at("WebMercatorQuad", 10, 117.2, 20.3)
    inside = f"/collections/gd-cities/tiles/WebMercatorQuad/10/{row}/{col}"
    inside_map = inside.replace("/tiles/", "/map/tiles/")
    routed = {path: tiles_client.get(path) for path in (outside, inside, inside_map)}
    assert [r.status_code for r in routed.values()] == [404, 204, 200]
    passed: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope["path"])

    fast = TileCacheFastPath(inner, _policy(tiles_client))
    for path in (outside, inside_map):
        assert _call(tiles_client.app, fast, path) == [] and passed[-1] == path
    start, body = _call(tiles_client.app, fast, inside)
    assert start["status"] == 204 and body["body"] == b"" and passed[-1] != inside
    assert dict(start["headers"])[b"etag"].decode() == routed[inside].headers["etag"]
    etag = wmts.headers["etag"].encode()
    assert (
        _call(tiles_client.app, fast, outside, etag=etag) == []
    )  # no 304 where the route says 404
    assert (
        tiles_client.get(outside, headers={"If-None-Match": wmts.headers["etag"]}).status_code
        == 404
    )


def _key(z: int, row: int, col: int, version: int = 1) -> TileKey:
    return TileKey("demo", version, "WebMercatorQuad", z, row, col, "mvt")


def test_purge_by_bounds_removes_only_the_tiles_it_touches(tmp_path: Path) -> None:
    cache = TileCache(tmp_path)
    row, col = tile_at("WebMercatorQuad", 8)
    near, far = _key(8, row, col), _key(8, 10, 10)
    for key in (near, far):
        cache.put(key, b"x")
    removed = cache.purge_bounds("demo", (113.2, 23.0, 113.3, 23.2))
    assert removed == 1
    assert cache.get(near) is None and cache.get(far) == b"x"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_cached_files_follow_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    """A web server in front of the cache (nginx's workers run as another user) reads them."""
    previous = os.umask(umask)
    try:
        cache = TileCache(tmp_path)
        cache.put(_key(8, 10, 10), b"x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(cache.path(_key(8, 10, 10)).stat().st_mode) == mode


def test_old_versions_are_removed_and_empty_tiles_are_remembered(tmp_path: Path) -> None:
    cache = TileCache(tmp_path)
    cache.put(_key(3, 1, 1, version=1), b"old")
    cache.put(_key(3, 1, 1, version=2), b"")
    assert cache.remove_other_versions("demo", 2) == 1
    assert cache.get(_key(3, 1, 1, version=1)) is None
    assert cache.get(_key(3, 1, 1, version=2)) == b""  # empty, known: 204 without the database
    cache.purge_layer("demo")
    assert cache.get(_key(3, 1, 1, version=2)) is None


def test_overview_tiles_keep_a_feature_in_every_cell(
    tiles_client: TestClient, sample_url: str
) -> None:
    """The per-level overview of the dense layer answers low zooms without holes."""
    layer = tiles_client.app.state.onemap.store.current.get(DENSE_LAYER)  # type: ignore[attr-defined]
    table = build_mercator_overview(sample_url, layer)
    for z in (6, 8, 10):
        row, col = tile_at("WebMercatorQuad", z)
        spec = mvt.TileSpec.of("WebMercatorQuad", z, row, col)
        statement = mvt.compose_tile_sql(layer, mvt.MERCATOR, "mvt", layer.field_names, table)
        with psycopg.connect(sample_url) as conn:
            data = conn.execute(statement, spec.params()).fetchone()[0]  # type: ignore[index]
            points = _points_in(conn, spec)
        features = decode(bytes(data))[DENSE_LAYER]["features"]
        assert len(features) <= mvt.CELLS_PER_TILE**2
        _assert_no_empty_cell(features, points, spec)


def _points_in(conn: psycopg.Connection, spec: mvt.TileSpec) -> list[tuple[float, float]]:
    xmin, ymin, xmax, ymax = spec.bounds
    return conn.execute(
        "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(geom, 3857) g "
        f'FROM onemap_data."{DENSE_LAYER}") s '
        "WHERE ST_X(g) >= %s AND ST_X(g) < %s AND ST_Y(g) > %s AND ST_Y(g) <= %s",
        (xmin, xmax, ymin, ymax),
    ).fetchall()


def _assert_no_empty_cell(
    features: list[dict[str, Any]], points: list[tuple[float, float]], spec: mvt.TileSpec
) -> None:
    step = 4096 // mvt.CELLS_PER_TILE
    served = {
        (int((x + dx) // step), int((y + dy) // step))
        for f in features
        for x, y in [f["geometry"]["coordinates"]]
        for dx in (-0.5, 0, 0.5)
        for dy in (-0.5, 0, 0.5)
    }
    xmin, _, xmax, ymax = spec.bounds
    size = (xmax - xmin) / mvt.CELLS_PER_TILE
    expected = {(int((x - xmin) // size), int((ymax - y) // size)) for x, y in points}
    assert expected and not expected - served, f"z{spec.z}: {len(expected - served)} empty cells"


__all__ = ["grids"]


def test_sweep_keeps_only_current_versions(tmp_path: Path) -> None:
    cache = TileCache(tmp_path)
    cache.put(_key(3, 1, 1, version=1), b"old")
    cache.put(_key(3, 1, 1, version=2), b"new")
    cache.put(TileKey("gone", 1, "WebMercatorQuad", 3, 1, 1, "mvt"), b"x")
    assert cache.sweep({"demo": 2}) == 2
    assert cache.get(_key(3, 1, 1, version=2)) == b"new"
    assert cache.get(_key(3, 1, 1, version=1)) is None
    assert not (tmp_path / "gone").exists()


def test_identity_form_is_decompressed_once_and_kept_beside(tmp_path: Path) -> None:
    """A client that refuses gzip reads a sidecar, not a decompression, on every later hit;
    a sidecar names the gzip bytes it came from, so a re-made tile never gets an old one."""
    cache = TileCache(tmp_path)
    key, old, new = _key(8, 10, 10), gzip.compress(b"old tile"), gzip.compress(b"new tile")
    cache.put(key, old)
    assert cache.identity(key, old) == b"old tile"
    sidecar = tmp_path / key.identity_path(old)
    assert sidecar.read_bytes() == b"old tile"
    sidecar.write_bytes(b"from the sidecar")  # the next read must come from the file
    assert cache.identity(key, old) == b"from the sidecar"
    cache.put(key, new)  # an edit re-made the tile: the old sidecar names other bytes
    assert cache.identity(key, new) == b"new tile"
    assert cache.identity(_key(8, 10, 11), b"") == b""  # empty tiles have no sidecar


def test_purge_removes_identity_sidecars_and_names_each_tile_once(tmp_path: Path) -> None:
    cache = TileCache(tmp_path)
    row, col = tile_at("WebMercatorQuad", 8)
    key = _key(8, row, col)
    stored = gzip.compress(b"tile")
    cache.put(key, stored)
    cache.identity(key, stored)
    assert cache.purge_bounds("demo", (113.2, 23.0, 113.3, 23.2)) == 1
    assert not list((tmp_path / key.relative_path()).parent.iterdir())


def test_identity_survives_a_full_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = TileCache(tmp_path)
    key, stored = _key(8, 10, 10), gzip.compress(b"tile")
    cache.put(key, stored)

    def no_space(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "_write", no_space)
    assert cache.identity(key, stored) == b"tile"


def test_a_hit_made_across_a_change_is_served_but_not_remembered(
    tiles_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The identity form is made off the event loop; a catalog change or purge meanwhile
    may have made it stale for the next request, so it is not kept in memory."""
    row, col = tile_at("WebMercatorQuad", 10)
    path = f"/collections/gd-counties/tiles/WebMercatorQuad/10/{row}/{col}"
    assert tiles_client.get(path).status_code == 200  # now on disk

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("a cache hit reached the framework")

    fast = TileCacheFastPath(inner, _policy(tiles_client))
    made = fast._remember

    async def changed_meanwhile(*args: Any) -> Any:
        hit = await made(*args)
        fast._hot.drop(lambda _: True)  # what catalog_changed / tiles_purged do
        return hit

    monkeypatch.setattr(fast, "_remember", changed_meanwhile)
    start, body = _call(tiles_client.app, fast, path, encoding=b"identity")
    assert start["status"] == 200 and body["body"] == tiles_client.get(path).content
    assert fast._hot.get(path, True) is None
    monkeypatch.setattr(fast, "_remember", made)
    _call(tiles_client.app, fast, path, encoding=b"identity")
    assert fast._hot.get(path, True) is not None  # with no change, remembered
