"""Cache hits without the framework: a raw ASGI middleware in front of the app.

A cached public tile needs a catalog lookup (layer -> current version), one ``open``/``read``
of a small file and two ASGI messages. Doing that before FastAPI's routing, dependency
injection and the CORS/GZip middlewares removes most of the per-request Python work; the
app puts it in front of the whole framework (``ogc.app.OneMapApp``). The hottest tiles are
remembered per request path and encoding with their response headers ready (``HotTiles``;
an MVT's identity form for a client that refuses gzip), so a repeated hit is a dict lookup
and two sends — or, for a caller with no credential, one write by the HTTP protocol itself
(``answer_at_once``) — dropped when their layer changes (the app subscribes
``catalog_changed``) or an edit touches them (``tiles_purged``); nothing is polled per
request. Layers, style versions and the tile
cache come from the app's state: the current snapshot's plans (``ogc/plans.py``) and the one
tile producer's cache. CORS and Cache-Control come from ``ogc.http.policy``, the rules the
routes' middleware follows. The caller comes from the gate (``ogc.gate``): only callers who
see what the public sees are answered here, tiles of layers they may see, under the key of
their scope; an API key (``tk=``, the one query string served here, or ``X-OneMap-Key``) is
checked and counted against its tiles quota by the gate from memory. Everything else —
misses, empty map tiles, other query strings, refused keys and tokens, unknown or hidden
layers, callers whose answers are private, errors — falls through to the routes, which
produce the same bytes and headers. The ETag names the key and the bytes' digest (a tile
re-made after an edit keeps its key), so a revalidation reads the tile (memory or one
file) and may answer 304.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

from layers.access.caller import PUBLIC_SCOPE, Caller
from layers.catalog import Catalog, Layer
from layers.errors import InvalidParameter, NotFound
from layers.settings import TileSettings
from ogc.gate.caller import CallerResolver, caller_at_once, caller_or_none
from ogc.gate.visible import cache_scope, may_read
from ogc.http import paths
from ogc.http.asgi_types import ASGIApp, Headers, Ready, Receive, Scope, Send, WireHeaders
from ogc.http.policy import ResponsePolicy, secure
from ogc.http.request_id import REQUEST_ID_HEADER
from ogc.observe.route_class import mark_cached_tile
from ogc.plans import Snapshot
from tiles import grids
from tiles.cache import NO_STYLE, TileCache, TileKey
from tiles.edit_area import EditArea
from tiles.plan import TilePlan
from tiles.purge import edited_in_place
from tiles.service import MVT_MEDIA_TYPE, PNG_MEDIA_TYPE

_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]*"
_LEVEL, _INDEX = r"\d{1,2}", r"\d{1,9}"
_OGC = {"collectionId": _NAME, "tileMatrixSetId": _NAME, "tileMatrix": _LEVEL}
_OGC |= {"tileRow": _INDEX, "tileCol": _INDEX}
_WMTS = {"layer": _NAME, "TileMatrixSet": _NAME, "TileMatrix": _LEVEL}
_WMTS |= {"TileRow": _INDEX, "TileCol": _INDEX}
_DEFAULT_STYLE = {"style": "default"}
# Each pattern's groups are, in order: layer, grid, level, row, column.
ROUTES = (
    (paths.matcher(paths.COLLECTION_TILE, _OGC), "mvt", False),
    (paths.matcher(paths.MAP_TILE, _OGC), "png", False),
    (paths.matcher(paths.WMTS_TILE, _WMTS, r"\.png", _DEFAULT_STYLE), "png", True),
    (paths.matcher(paths.WMTS_TILE, _WMTS, r"\.(?:pbf|mvt)", _DEFAULT_STYLE), "mvt", True),
)
log = logging.getLogger("onemap.tiles")
# Every path ROUTES match starts so (a collection id holds no '/': its tiles are under /tiles/).
COLLECTIONS_PREFIX, TILES_SEGMENT = paths.COLLECTIONS + "/", "/tiles/"
WMTS_PREFIX = paths.WMTS_ROOT + "/"
# Per worker process: ONEMAP_TILE_MEMORY_MB, whose default this is when none is given.
MEMORY_BYTES = TileSettings.model_fields["tile_memory_mb"].default * 2**20
ENTRY_OVERHEAD = 512  # bytes counted per remembered tile beside its data (empty tiles too)
MEDIA = {"mvt": MVT_MEDIA_TYPE.encode(), "png": PNG_MEDIA_TYPE.encode()}


class Hit:
    """A cached tile ready to send: its headers are built once, the bytes kept. An MVT is
    kept as stored (gzip) or, for a client that refuses gzip, decompressed (``plain``: the
    cache's identity sidecar, decompressed at most once per tile) under the key's identity
    ETag, as ``ogc.common.tiles.tile_response`` answers it; an empty vector tile is its
    204 No Content."""

    __slots__ = ("_by_origin", "data", "etag", "headers", "key", "short", "status")

    def __init__(
        self, key: TileKey, data: bytes, policy: ResponsePolicy, plain: bool, cache: TileCache
    ) -> None:
        identity = plain and key.fmt == "mvt" and bool(data)
        self.key = key
        self.etag = key.etag(data, identity).encode()
        self.data = cache.identity(key, data) if identity else data
        self.short = not_modified_headers(self.etag, policy)  # 304 and 204, before CORS
        self.status = 200 if data else 204
        gzipped = key.fmt == "mvt" and not identity  # stored gzip-compressed
        encoding = [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
        self.headers = (
            self.short
            if not data
            else [  # tile_response's, in its order
                *self.short,
                *(encoding if gzipped else [(b"content-encoding", b"identity")]),
                (b"content-length", str(len(self.data)).encode()),
                (b"content-type", MEDIA[key.fmt]),
            ]
        )
        self._by_origin: dict[tuple[bool, bytes | None], Headers] = {}

    def headers_for(self, full: bool, origin: bytes | None, policy: ResponsePolicy) -> Headers:
        """The headers with the policy's CORS for ``origin`` (a few origins remembered)."""
        found = self._by_origin.get((full, origin))
        if found is None:
            found = WireHeaders(self.headers if full else self.short)
            policy.cors(origin, found)
            secure(found)
            if len(self._by_origin) < 16:
                self._by_origin[(full, origin)] = found
        return found


def not_modified_headers(etag: bytes, policy: ResponsePolicy) -> Headers:
    """``ogc.common.tiles.cache_headers`` of a stored tile, before CORS."""
    return [
        (b"etag", etag),
        (b"cache-control", policy.tile_cache_control().encode()),
    ]


class TileCacheFastPath:
    """Serve cached public tiles straight from disk or memory; pass everything else on."""

    def __init__(
        self,
        app: ASGIApp,
        policy: ResponsePolicy,
        memory_bytes: int = MEMORY_BYTES,
        callers: CallerResolver | None = None,
    ) -> None:
        self.app = app
        self.policy = policy
        self.callers = callers  # the app's gate, for answers at once (None: none given)
        self._hot = HotTiles(memory_bytes)
        self._catalog = Catalog()
        # Answers handed to the HTTP protocol, and the 304s among them: two integers are all
        # the counting an at-once answer gets (/metrics reads them; the tests check the path).
        self.at_once = 0
        self.at_once_not_modified = 0
        self.cache_hits = 0  # answers through ASGI (memory or disk; /metrics' hit ratio)

    def catalog_changed(self, catalog: Catalog) -> None:
        """A catalog change: forget the hot tiles of every layer that changed (publish,
        rollback, restyle, access, delete) — except by edits alone, whose touched tiles
        ``tiles_purged`` has dropped already, before this snapshot was served."""
        previous, self._catalog = self._catalog, catalog

        def changed(hit: Hit) -> bool:
            old, new = previous.layers.get(hit.key.layer_id), catalog.layers.get(hit.key.layer_id)
            return old is None or new is None or (old != new and not edited_in_place(old, new))

        self._hot.drop(changed)

    def tiles_purged(self, layer_id: str, area: EditArea) -> None:
        """An edit's tiles were deleted from the cache: forget them here too."""
        self._hot.drop(
            lambda hit: (
                hit.key.layer_id == layer_id
                and area.touches(hit.key.tms_id, hit.key.z, hit.key.row, hit.key.col)
            )
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not _only_a_key(scope["query_string"])
            or not _may_be_tile(scope["path"])  # a single feature, a page…: no lookups
        ):
            return await self.app(scope, receive, send)
        try:
            served = await self._try(scope, send)
        except Exception:  # never fail a request the routes could still answer
            log.exception("tile fast path failed on %s; handing over to the app", scope["path"])
            served = False
        if not served:
            await self.app(scope, receive, send)

    def answer_at_once(self, scope: Scope) -> Ready | None:
        """The answer to a tile held in memory, for a caller known without I/O (no
        credential: ``caller_at_once``, counted against its rate limit) — what ``onemap
        serve``'s HTTP protocol sends before any ASGI task starts (``ogc.server.http_protocol``);
        None: ask the app (a refusal is kept in the scope for the gate). The same answer as
        ``__call__``'s for the same request (both end in ``_ready``)."""
        if scope["method"] not in ("GET", "HEAD") or scope["query_string"] or not self.callers:
            return None
        asked = _request_headers(scope)
        if asked.request_id:
            return None  # ASGI's request middleware echoes the client's id
        hit = self._hot.get(scope["path"], asked.plain)
        if hit is None:
            return None
        caller = caller_at_once(scope, self.callers)
        if caller is None or caller.scope != PUBLIC_SCOPE:
            return None
        self.at_once += 1
        ready = self._ready(scope, asked, hit)
        if ready[0] == 304:
            self.at_once_not_modified += 1
        return ready

    async def _try(self, scope: Scope, send: Send) -> bool:
        path: str = scope["path"]
        state: Any = getattr(scope["app"].state, "onemap", None)
        if state is None:
            return False
        caller = await caller_or_none(scope, state.callers)  # an API key counts here
        if caller is None or caller.scope != PUBLIC_SCOPE:
            return False  # refusals (the gate's middleware) and private answers: the routes'
        asked = _request_headers(scope)
        hit = self._hot.get(path, asked.plain)
        if hit is None:
            snapshot = getattr(state, "snapshot", None)
            producer = getattr(state, "tile_producer", None)
            if snapshot is None or producer is None:
                return False  # not started: the routes answer 503
            key = self._match(path, snapshot, caller)
            if key is None:
                return False
            data = producer.cache.get(key)
            if data is None or (not data and not _empty_is_204(path, key)):
                # Missing, or an empty map or WMTS tile: the routes decide those (a
                # transparent PNG, or a 404 outside the tileset's limits).
                return False
            generation = self._hot.generation
            hit = await self._remember(key, data, asked.plain, producer.cache)
            if self._hot.generation == generation:  # no change dropped tiles meanwhile
                self._hot.put(path, asked.plain, hit)
        self.cache_hits += 1
        mark_cached_tile(scope)
        await _respond(send, *self._ready(scope, asked, hit))
        return True

    async def _remember(self, key: TileKey, data: bytes, plain: bool, cache: TileCache) -> Hit:
        """A hit for the hot tiles; an MVT's identity form off the event loop (reading its
        sidecar, or decompressing once and writing the sidecar, is file I/O a loop serving
        other tiles must not wait for)."""
        if plain and key.fmt == "mvt" and data:
            return await asyncio.to_thread(Hit, key, data, self.policy, plain, cache)
        return Hit(key, data, self.policy, plain, cache)

    def _ready(self, scope: Scope, asked: Asked, hit: Hit) -> Ready:
        """304 when the client holds the bytes, else the tile (or its 204 when empty)."""
        if asked.match == hit.etag:
            return 304, hit.headers_for(False, asked.origin, self.policy), b""
        body = b"" if scope["method"] == "HEAD" else hit.data
        return hit.status, hit.headers_for(True, asked.origin, self.policy), body

    def _match(self, path: str, snapshot: Snapshot, caller: Caller) -> TileKey | None:
        route = _route(path)
        if route is None:
            return None
        found, fmt, for_wmts = route
        layer_id, tms_id, level, tile_row, tile_col = found.groups()
        planned = snapshot.layers.get(layer_id)
        if planned is None:
            return None
        plan = planned.tiles
        layer = plan.layer
        if not may_read(layer, caller):
            return None  # the routes answer (a 404, as for an unknown id)
        if fmt == "mvt" and layer.kind != "vector":
            return None
        style = _style_version(plan) if fmt == "png" else NO_STYLE
        if style is None:
            return None  # an invalid style: the route says why (400)
        z, row, col = int(level), int(tile_row), int(tile_col)
        if not for_wmts and not _in_limits(layer, tms_id, z, row, col):
            return None  # the route answers 404 (even to a revalidation)
        scope = cache_scope(layer, caller)
        return TileKey(layer.id, layer.cache_version, tms_id, z, row, col, fmt, style, scope)


def _style_version(plan: TilePlan) -> str | None:
    try:
        return plan.style.version
    except InvalidParameter:
        return None


class HotTiles:
    """The most recently served tiles of this process by request path and encoding asked
    for, bounded in bytes (LRU). A catalog change drops the tiles of the layers it changed,
    an edit's purge the tiles it touched, so a path always maps to the current key's bytes
    and it can never serve a tile the disk would not."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 0
        # Counts drops: a hit made across an await is kept only if none came meanwhile (the
        # change that would have dropped it may have made its bytes stale).
        self.generation = 0
        self._tiles: OrderedDict[tuple[str, bool], Hit] = OrderedDict()

    def get(self, path: str, plain: bool) -> Hit | None:
        hit = self._tiles.get((path, plain))
        if hit is not None:
            self._tiles.move_to_end((path, plain))
        return hit

    def put(self, path: str, plain: bool, hit: Hit) -> None:
        size = len(hit.data) + ENTRY_OVERHEAD
        if size > self.capacity // 16 or (path, plain) in self._tiles:
            return
        self._tiles[(path, plain)] = hit
        self.size += size
        while self.size > self.capacity:
            _, dropped = self._tiles.popitem(last=False)
            self.size -= len(dropped.data) + ENTRY_OVERHEAD

    def drop(self, unwanted: Callable[[Hit], bool]) -> int:
        """Forget the tiles ``unwanted`` says; count them."""
        self.generation += 1
        gone = [(place, hit) for place, hit in self._tiles.items() if unwanted(hit)]
        for place, hit in gone:
            del self._tiles[place]
            self.size -= len(hit.data) + ENTRY_OVERHEAD
        return len(gone)

    def clear(self) -> None:
        self.generation += 1
        self._tiles.clear()
        self.size = 0


def _in_limits(layer: Layer, tms_id: str, z: int, row: int, col: int) -> bool:
    """Whether OGC API – Tiles serves this tile at all (the routes' ``check_in_limits``)."""
    try:
        if layer.extent:
            grids.check_within_limits(tms_id, layer.extent, z, row, col)
        else:
            grids.check_tile(tms_id, z, row, col)
    except NotFound:
        return False
    return True


def _empty_is_204(path: str, key: TileKey) -> bool:
    """An empty OGC API vector tile inside the limits (``_match`` checked them) is 204."""
    return key.fmt == "mvt" and path.startswith("/collections/")


def _may_be_tile(path: str) -> bool:
    """Whether ``ROUTES`` may match ``path`` (the prefixes they all start with)."""
    return (path.startswith(COLLECTIONS_PREFIX) and TILES_SEGMENT in path) or path.startswith(
        WMTS_PREFIX
    )


def _only_a_key(query: bytes) -> bool:
    """No query, or only an API key (``tk=``): a tile's bytes do not depend on it."""
    return not query or (query.startswith(b"tk=") and b"&" not in query)


def _route(path: str) -> tuple[re.Match[str], str, bool] | None:
    for pattern, fmt, for_wmts in ROUTES:
        found = pattern.match(path)
        if found is not None:
            return found, fmt, for_wmts
    return None


class Asked(NamedTuple):
    """What a tile request's headers ask: If-None-Match, whether gzip is refused, Origin,
    and whether the client named the request (``X-Request-Id``, echoed through ASGI)."""

    match: bytes | None
    plain: bool
    origin: bytes | None
    request_id: bool = False


def _request_headers(scope: Scope) -> Asked:
    """The headers a tile's answer depends on, in one pass."""
    match = accept = origin = None  # the first of each, as the routes read them
    named = False
    for key, value in scope["headers"]:
        if key == b"if-none-match" and match is None:
            match = value
        elif key == b"accept-encoding" and accept is None:
            accept = value
        elif key == b"origin" and origin is None:
            origin = bytes(value)
        elif key == REQUEST_ID_HEADER:
            named = True
    return Asked(match, accept is None or b"gzip" not in accept, origin, named)


async def _respond(send: Send, status: int, headers: Headers, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
