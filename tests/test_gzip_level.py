"""``ONEMAP_GZIP_LEVEL``: one setting that every gzip path uses (bench/gzip_levels.py chose 5).

The app here runs at level 1, not the default, so a path that ignored the setting would
write other bytes: each response's deflate stream is compared with zlib's at that level.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from layers.settings import ServiceSettings
from ogc.app import create_app
from ogc.routers.feature_fastpath import FeatureFastPath
from tests.tiles.helpers import decode, tile_at

LEVEL = 1
GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture(scope="module")
def level_client(
    settings: ServiceSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    cache = tmp_path_factory.mktemp("gzip-level-tiles")
    update = {"gzip_level": LEVEL, "tile_cache_dir": cache}
    with TestClient(create_app(settings.model_copy(update=update))) as client:
        yield client


def deflated(body: bytes, level: int) -> bytes:
    """The raw deflate stream zlib writes for ``body`` at ``level`` (what gzip wraps)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()


def raw_get(
    client: TestClient, path: str, params: dict[str, str] | None = None
) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (still gzipped)."""
    with client.stream("GET", path, params=params, headers=GZIP) as response:
        raw = b"".join(response.iter_raw())
    return response, raw


def assert_gzipped_at(raw: bytes, level: int) -> bytes:
    """The body inside ``raw``, after checking its deflate stream is zlib's at ``level``."""
    body = gzip.decompress(raw)
    assert raw[10:-8] == deflated(body, level)  # between the 10-byte header and the trailer
    assert deflated(body, level) != deflated(body, 5)  # the level shows in the bytes
    return body


def test_items_pages_are_compressed_at_the_setting(level_client: TestClient) -> None:
    response, raw = raw_get(level_client, "/collections/gd-counties/items", {"limit": "100"})
    assert response.headers["content-encoding"] == "gzip"
    body = assert_gzipped_at(raw, LEVEL)
    assert len(orjson.loads(body)["features"]) == 100


def test_html_pages_are_compressed_at_the_setting(level_client: TestClient) -> None:
    response, raw = raw_get(level_client, "/collections/gd-cities/items", {"f": "html"})
    assert response.headers["content-encoding"] == "gzip"
    assert b"<svg" in assert_gzipped_at(raw, LEVEL)


def test_the_single_feature_fast_path_compresses_at_the_setting(
    level_client: TestClient,
) -> None:
    layer: Any = level_client.app.fast_layer  # type: ignore[attr-defined]
    while not isinstance(layer, FeatureFastPath):
        layer = layer.app
    fid = level_client.get("/collections/gd-counties/items").json()["features"][0]["id"]
    served = layer.served
    response, raw = raw_get(level_client, f"/collections/gd-counties/items/{fid}")
    assert layer.served == served + 1  # answered by the fast path, not the route
    assert response.headers["content-encoding"] == "gzip"
    assert orjson.loads(assert_gzipped_at(raw, LEVEL))["id"] == fid


def test_vector_tiles_are_cached_at_the_setting(level_client: TestClient) -> None:
    row, col = tile_at("WebMercatorQuad", 8)
    path = f"/collections/gd-counties/tiles/WebMercatorQuad/8/{row}/{col}"
    made, raw = raw_get(level_client, path)
    cached, again = raw_get(level_client, path)  # the cache hit (the tile fast path)
    assert made.status_code == cached.status_code == 200
    plain = gzip.decompress(raw)
    assert raw == again == gzip.compress(plain, compresslevel=LEVEL, mtime=0)
    assert "gd-counties" in decode(plain)


def test_dataset_tiles_are_compressed_at_the_setting(level_client: TestClient) -> None:
    row, col = tile_at("WebMercatorQuad", 7)
    params = {"collections": "gd-counties,gd-cities"}
    response, raw = raw_get(level_client, f"/tiles/WebMercatorQuad/7/{row}/{col}", params)
    assert response.status_code == 200 and response.headers["content-encoding"] == "gzip"
    plain = gzip.decompress(raw)
    assert raw == gzip.compress(plain, compresslevel=LEVEL, mtime=0)
    assert {"gd-counties", "gd-cities"} <= set(decode(plain))


def test_a_streamed_page_stays_streamed_when_gzipped(level_client: TestClient) -> None:
    """1,000 features leave in chunks as PostGIS renders them; gzip compresses each
    chunk as it passes instead of holding the page whole."""
    messages: list[dict[str, Any]] = []
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/collections/synthetic-landuse/items", "raw_path": b"",
        "root_path": "", "query_string": b"limit=1000", "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000), "headers": [(b"host", b"testserver"),
                                                    (b"accept-encoding", b"gzip")],
    }  # fmt: skip

    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:  # the response listens for a disconnect: the client stays
            await asyncio.sleep(60)
            return {"type": "http.disconnect"}
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    assert level_client.portal is not None
    level_client.portal.call(level_client.app, scope, receive, send)
    start, bodies = messages[0], [m for m in messages[1:] if m["body"]]
    headers = dict(start["headers"])
    assert start["status"] == 200 and headers[b"content-encoding"] == b"gzip"
    assert b"content-length" not in headers  # not buffered to be measured
    assert len(bodies) > 2, len(bodies)  # several compressed chunks, sent as they came
    document = orjson.loads(gzip.decompress(b"".join(m["body"] for m in bodies)))
    assert len(document["features"]) == 1000


def test_the_setting_is_read_from_the_environment_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ONEMAP_GZIP_LEVEL", "3")
    assert ServiceSettings().gzip_level == 3
    for wrong in ("0", "10"):
        monkeypatch.setenv("ONEMAP_GZIP_LEVEL", wrong)
        with pytest.raises(ValidationError, match="gzip_level"):
            ServiceSettings()
