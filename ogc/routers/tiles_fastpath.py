"""Cache hits without the framework: a raw ASGI middleware in front of the app.

A cached public tile needs a catalog lookup (layer -> current version), one ``open``/``read``
of a small file and two ASGI messages. Doing that before FastAPI's routing, dependency
injection and the CORS/GZip middlewares removes most of the per-request Python work, so
a tile-cache hit costs a fraction of an uncached request. Everything else — misses, query
strings, HEAD/GET with unknown layers, layers that are not public (access checks live in
``LayerDep``), errors — falls through to the normal routes, which produce the same bytes and
headers. The ETag comes from the key, so revalidations are answered 304 without reading.
The hottest tiles are also kept in memory (``HotTiles``), dropped on every catalog change.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from layers.catalog import Layer
from tiles.cache import NO_STYLE, PUBLIC_SCOPE, TileCache, TileKey
from tiles.service import MVT_MEDIA_TYPE, PNG_MEDIA_TYPE
from tiles.styles import style_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]*"
_TILE = rf"(?P<tms>{_NAME})/(?P<z>\d{{1,2}})/(?P<row>\d{{1,9}})/(?P<col>\d{{1,9}})"
ROUTES = (
    (re.compile(rf"^/collections/(?P<layer>{_NAME})/tiles/{_TILE}$"), "mvt", False),
    (re.compile(rf"^/collections/(?P<layer>{_NAME})/map/tiles/{_TILE}$"), "png", False),
    (re.compile(rf"^/wmts/1\.0\.0/(?P<layer>{_NAME})/default/{_TILE}\.png$"), "png", True),
    (re.compile(rf"^/wmts/1\.0\.0/(?P<layer>{_NAME})/default/{_TILE}\.(?:pbf|mvt)$"), "mvt", True),
)
log = logging.getLogger("onemap.tiles")
MEMORY_BYTES = 64 * 2**20  # per worker process
MEDIA = {"mvt": MVT_MEDIA_TYPE.encode(), "png": PNG_MEDIA_TYPE.encode()}


def install_fast_path(app: Any) -> None:
    """Put the fast path outside every other middleware of a Starlette/FastAPI app
    (outside even the error and telemetry layers), so a hit costs as little as possible."""
    build = app.build_middleware_stack

    def build_with_fast_path() -> ASGIApp:
        return TileCacheFastPath(build())

    app.build_middleware_stack = build_with_fast_path


class TileCacheFastPath:
    """Serve cached public tiles straight from disk; pass everything else on."""

    def __init__(self, app: ASGIApp, memory_bytes: int = MEMORY_BYTES) -> None:
        self.app = app
        self._cache: TileCache | None = None
        self._control = b""
        self._cors = False
        self._hot = HotTiles(memory_bytes)
        self._generation = -1
        self._styles: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or scope["query_string"]
        ):
            return await self.app(scope, receive, send)
        try:
            hit = self._match(scope)
            served = hit is not None and await self._serve(scope, send, *hit)
        except Exception:  # never fail a request the routes could still answer
            log.exception("tile fast path failed on %s; handing over to the app", scope["path"])
            served = False
        if not served:
            await self.app(scope, receive, send)

    def _match(self, scope: Scope) -> tuple[Any, Layer, TileKey, bool] | None:
        path: str = scope["path"]
        if not (path.startswith("/collections/") or path.startswith("/wmts/1.0.0/")):
            return None
        route = _route(path)
        if route is None:
            return None
        found, fmt, for_wmts = route
        state = getattr(scope["app"].state, "onemap", None)
        store = getattr(state, "store", None)
        if store is None or not store.loaded:
            return None
        if store.generation != self._generation:
            # Any catalog change (publish, rollback, restyle, later edits): forget hot tiles.
            self._hot.clear()
            self._styles.clear()
            self._generation = store.generation
        layer = store.current.layers.get(found["layer"])
        if layer is None or layer.access_level != "public":
            return None
        if fmt == "mvt" and layer.kind != "vector":
            return None
        style = self._style_version(layer) if fmt == "png" else NO_STYLE
        z, row, col = int(found["z"]), int(found["row"]), int(found["col"])
        key = TileKey(layer.id, layer.version, found["tms"], z, row, col, fmt, style, PUBLIC_SCOPE)
        return state, layer, key, for_wmts

    async def _serve(
        self, scope: Scope, send: Send, state: Any, layer: Layer, key: TileKey, for_wmts: bool
    ) -> bool:
        cache = self._cache_for(state)
        etag = key.etag().encode()
        headers = [(b"etag", etag), (b"cache-control", self._control)]
        if self._cors:
            headers.append((b"access-control-allow-origin", b"*"))
        if _header(scope, b"if-none-match") == etag:
            await _respond(send, 304, headers, b"")
            return True
        path = key.relative_path()
        data = self._hot.get(path)
        if data is None:
            data = cache.get(key)
            if data is None:
                return False
            self._hot.put(path, data)
        if not data:
            if for_wmts:
                return False  # WMTS answers empty PNG tiles with an image; let the route do it
            await _respond(send, 204, headers, b"")
            return True
        if key.fmt == "mvt":  # stored gzip-compressed; other clients get the route's answer
            if b"gzip" not in (_header(scope, b"accept-encoding") or b""):
                return False
            headers.append((b"content-encoding", b"gzip"))
            headers.append((b"vary", b"Accept-Encoding"))
        headers.append((b"content-type", MEDIA[key.fmt]))
        headers.append((b"content-length", str(len(data)).encode()))
        body = b"" if scope["method"] == "HEAD" else data
        await _respond(send, 200, headers, body)
        return True

    def _style_version(self, layer: Layer) -> str:
        version = self._styles.get(layer.id)
        if version is None:
            version = self._styles[layer.id] = style_of(layer).version
        return version

    def _cache_for(self, state: Any) -> TileCache:
        if self._cache is None:
            settings = state.settings
            self._cache = TileCache(settings.tiles_dir)
            age = settings.tile_cache_max_age
            self._control = (f"public, max-age={age}" if age > 0 else "public, no-cache").encode()
            self._cors = settings.cors_origins.strip() == "*"
        return self._cache


class HotTiles:
    """The most recently served tiles of this process, bounded in bytes (LRU).

    Keys are cache keys (layer version included) and the whole memory is dropped on every
    catalog change, so it can never serve a tile the disk cache would not.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 0
        self._tiles: OrderedDict[str, bytes] = OrderedDict()

    def get(self, path: str) -> bytes | None:
        data = self._tiles.get(path)
        if data is not None:
            self._tiles.move_to_end(path)
        return data

    def put(self, path: str, data: bytes) -> None:
        if len(data) > self.capacity // 16 or path in self._tiles:
            return
        self._tiles[path] = data
        self.size += len(data)
        while self.size > self.capacity:
            _, dropped = self._tiles.popitem(last=False)
            self.size -= len(dropped)

    def clear(self) -> None:
        self._tiles.clear()
        self.size = 0


def _route(path: str) -> tuple[re.Match[str], str, bool] | None:
    for pattern, fmt, for_wmts in ROUTES:
        found = pattern.match(path)
        if found is not None:
            return found, fmt, for_wmts
    return None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
