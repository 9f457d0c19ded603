"""Cache hits without the framework: a raw ASGI middleware in front of the app.

A cached public tile needs a catalog lookup (layer -> current version), one ``open``/``read``
of a small file and two ASGI messages. Doing that before FastAPI's routing, dependency
injection and the CORS/GZip middlewares removes most of the per-request Python work, so
a tile-cache hit costs a fraction of an uncached request. Everything else — misses, query
strings, HEAD/GET with unknown layers, layers that are not public (access checks live in
``LayerDep``), errors — falls through to the normal routes, which produce the same bytes and
headers. The ETag comes from the key, so revalidations are answered 304 without reading.
"""

from __future__ import annotations

import re
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
MEDIA = {"mvt": MVT_MEDIA_TYPE.encode(), "png": PNG_MEDIA_TYPE.encode()}


class TileCacheFastPath:
    """Serve cached public tiles straight from disk; pass everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._cache: TileCache | None = None
        self._control = b""
        self._cors = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or scope["query_string"]
        ):
            return await self.app(scope, receive, send)
        hit = self._match(scope)
        if hit is None or not await self._serve(scope, send, *hit):
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
        layer = store.current.layers.get(found["layer"])
        if layer is None or layer.access_level != "public":
            return None
        if fmt == "mvt" and layer.kind != "vector":
            return None
        style = style_of(layer).version if fmt == "png" else NO_STYLE
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
        data = cache.get(key)
        if data is None:
            return False
        if not data:
            if for_wmts:
                return False  # WMTS answers empty PNG tiles with an image; let the route do it
            await _respond(send, 204, headers, b"")
            return True
        headers.append((b"content-type", MEDIA[key.fmt]))
        headers.append((b"content-length", str(len(data)).encode()))
        body = b"" if scope["method"] == "HEAD" else data
        await _respond(send, 200, headers, body)
        return True

    def _cache_for(self, state: Any) -> TileCache:
        if self._cache is None:
            settings = state.settings
            self._cache = TileCache(settings.tiles_dir)
            age = settings.tile_cache_max_age
            self._control = (f"public, max-age={age}" if age > 0 else "public, no-cache").encode()
            self._cors = settings.cors_origins.strip() == "*"
        return self._cache


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
