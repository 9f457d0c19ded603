"""Producing tiles: cache first, then PostGIS (vector) or rio-tiler (raster), then cache.

Used by the web routers, the WMTS routes and the seeding command alike, so every path
agrees on keys and bytes. Each takes the layer version's plan (``tiles.plan``), whose tile
statements were composed when the catalog loaded; a request binds the tile's bounds and
executes with ``prepare=True``, so each pooled connection plans a statement once. A tile
query cut by the statement timeout is a 503 (``DatabaseUnavailable``), as a page of items is.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from layers.admission import Admission
from layers.catalog import Layer
from layers.db import unavailable
from layers.errors import DatabaseUnavailable, InvalidParameter, NotFound
from layers.features.query import AreaClip
from layers.replicas import ReadRouter
from tiles import mvt, overview, raster, render
from tiles.cache import NO_STYLE, TileCache, TileKey
from tiles.edit_area import EditArea
from tiles.plan import TilePlan

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
PNG_MEDIA_TYPE = "image/png"
PURGES_KEPT = 256  # a tile begun more purges ago than this is never kept (see ``_put``)
SMALL_TILE_BYTES = 32_768  # below this, a thread hop costs more than it saves
MEDIA_TYPES = {"mvt": MVT_MEDIA_TYPE, "png": PNG_MEDIA_TYPE}


@dataclass(frozen=True)
class Tile:
    """A produced tile: its bytes (b"" when empty) and the key it is cached under."""

    key: TileKey
    data: bytes
    cache: TileCache | None = field(default=None, compare=False, repr=False)  # where it is kept

    @property
    def empty(self) -> bool:
        return not self.data

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.key.fmt]

    @property
    def gzipped(self) -> bool:
        """Whether ``data`` is gzip-compressed (vector tiles with content)."""
        return self.key.fmt == "mvt" and bool(self.data)

    def plain(self) -> bytes:
        """The uncompressed bytes (from the cache's identity sidecar when it has one)."""
        if not self.gzipped:
            return self.data
        if self.cache is None:
            return gzip.decompress(self.data)
        return self.cache.identity(self.key, self.data)

    def etag(self, identity: bool = False) -> str:
        return self.key.etag(self.data, identity)


def gzip_tile(raw: bytes, level: int) -> bytes:
    """gzip at ``ONEMAP_GZIP_LEVEL`` without a timestamp, so every replica (one setting)
    writes identical bytes for one key."""
    return gzip.compress(raw, compresslevel=level, mtime=0) if raw else b""


def properties_variant(layer: Layer, properties: tuple[str, ...]) -> str:
    """The cache-key suffix of a property selection ("" for the default: every field)."""
    if properties == layer.field_names:
        return ""
    return "-" + hashlib.sha1(",".join(properties).encode()).hexdigest()[:12]


def tile_key(
    plan: TilePlan,
    tms_id: str,
    z: int,
    row: int,
    col: int,
    fmt: str,
    properties: tuple[str, ...] | None = None,
    *,
    scope: str,
) -> TileKey:
    layer = plan.layer
    style = plan.style.version if fmt == "png" else NO_STYLE
    variant = properties_variant(layer, properties) if properties is not None else ""
    key = (layer.id, layer.cache_version, tms_id, z, row, col, fmt, style, scope, variant)
    return TileKey(*key)


class TileProducer:
    """Makes tiles for one app (or one seeding run): a pool, a cache, an overview registry.

    The app builds one at start-up (``ogc/services/``), which also subscribes the sweep of
    old versions' cached files and the building of new versions' overviews to catalog
    changes."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        cache: TileCache,
        gzip_level: int,
        admission: Admission | None = None,
        reads: ReadRouter | None = None,
    ) -> None:
        self.pool = pool  # the primary's (overview builds)
        self.reads = reads or ReadRouter(pool)  # where tiles are read (a standby or the primary)
        self.cache = cache
        self.gzip_level = gzip_level
        self.admission = admission  # the app's bound on heavy work: a cache miss takes a slot
        self.overviews = overview.OverviewRegistry(reads)
        self._configured: weakref.WeakSet[AsyncConnection] = weakref.WeakSet()
        self._purges: dict[str, int] = {}  # purges begun per layer (``begin_purge``)
        self._areas: dict[str, deque[EditArea]] = {}  # the last PURGES_KEPT areas of each
        # Tiles the routes found cached, and tiles they had to make (the cache's hit ratio).
        self.cache_hits = 0
        self.cache_misses = 0

    def begin_purge(self, layer_id: str, area: EditArea) -> None:
        """Called before an edit's tiles are deleted: a touched tile whose making began
        earlier may hold the old data, so ``_put`` removes it again once stored."""
        self._areas.setdefault(layer_id, deque(maxlen=PURGES_KEPT)).append(area)
        self._purges[layer_id] = self._purge_count(layer_id) + 1

    def _purge_count(self, layer_id: str) -> int:
        return self._purges.get(layer_id, 0)

    def _put(self, key: TileKey, data: bytes, purges: int) -> None:
        """Store a tile made since ``purges`` purges of its layer had begun. Stored first,
        checked after: a purge that began in between either deletes the file or is seen."""
        self.cache.put(key, data)
        missed = self._purge_count(key.layer_id) - purges
        if missed <= 0:
            return
        areas = list(self._areas.get(key.layer_id, ()))
        if missed > len(areas) or any(
            area.touches(key.tms_id, key.z, key.row, key.col) for area in areas[-missed:]
        ):
            self.cache.path(key).unlink(missing_ok=True)

    async def vector_tile(
        self,
        plan: TilePlan,
        tms_id: str,
        z: int,
        row: int,
        col: int,
        properties: tuple[str, ...],
        *,
        scope: str,
        clip: AreaClip | None = None,
    ) -> Tile:
        """The tile as the callers of ``scope`` see it (``layers.access.rules.cache_scope``);
        ``clip``: only the features intersecting an area-limited caller's areas (their
        scope names the areas, so the key does too)."""
        key = tile_key(plan, tms_id, z, row, col, "mvt", properties, scope=scope)
        cached = self._cached(key)
        if cached is not None:
            return Tile(key, cached, self.cache)
        purges = self._purge_count(key.layer_id)
        spec = mvt.TileSpec.of(tms_id, z, row, col)
        data = b""
        if _is_vector(plan.layer) and spec.intersects(plan.layer.extent):
            async with self._slot():
                rows = await self._run(plan, spec, "mvt", properties, clip)
                raw = bytes(rows[0][0]) if rows and rows[0][0] else b""
                data = await self._compress_and_store(key, raw, purges)
            return Tile(key, data, self.cache)
        self._put(key, data, purges)
        return Tile(key, data, self.cache)

    def _cached(self, key: TileKey) -> bytes | None:
        cached = self.cache.get(key)
        if cached is None:
            self.cache_misses += 1
        else:
            self.cache_hits += 1
        return cached

    async def _compress_and_store(self, key: TileKey, raw: bytes, purges: int) -> bytes:
        """gzip and write in a worker thread (zlib and file I/O release the GIL), so a
        250 KB low-zoom tile does not stall the other requests of this event loop."""

        def work() -> bytes:
            data = gzip_tile(raw, self.gzip_level)
            self._put(key, data, purges)
            return data

        if len(raw) < SMALL_TILE_BYTES:
            return work()
        return await asyncio.to_thread(work)

    async def map_tile(
        self,
        plan: TilePlan,
        tms_id: str,
        z: int,
        row: int,
        col: int,
        *,
        scope: str,
        clip: AreaClip | None = None,
    ) -> Tile:
        key = tile_key(plan, tms_id, z, row, col, "png", scope=scope)
        cached = self._cached(key)
        if cached is not None:
            return Tile(key, cached, self.cache)
        purges = self._purge_count(key.layer_id)
        async with self._slot():
            if plan.layer.kind == "raster":
                data = await self._raster_png(plan.layer, tms_id, z, row, col, clip)
            else:
                data = await self._vector_png(plan, mvt.TileSpec.of(tms_id, z, row, col), clip)
        self._put(key, data, purges)
        return Tile(key, data, self.cache)

    def _slot(self) -> contextlib.AbstractAsyncContextManager[None]:
        """A slot of the app's admission for making a tile (seeding runs have none)."""
        if self.admission is None:
            return contextlib.nullcontext()
        return self.admission.slot("tile")

    async def _vector_png(self, plan: TilePlan, spec: mvt.TileSpec, clip: AreaClip | None) -> bytes:
        if not spec.intersects(plan.layer.extent):
            return b""
        style = plan.style
        rows = await self._run(plan, spec, "wkb", plan.label, clip)
        features = [(bytes(g) if g else b"", text, bytes(a) if a else None) for g, text, a in rows]
        # A geographic level N has the scale of Web Mercator level N + 1 (at the equator).
        mercator_level = spec.level + (1 if spec.family is mvt.GEOGRAPHIC else 0)
        labels = mercator_level >= style.label_min_zoom
        png = await asyncio.to_thread(render.render_vector, features, style, labels)
        return png or b""

    async def _raster_png(
        self, layer: Layer, tms_id: str, z: int, row: int, col: int, clip: AreaClip | None
    ) -> bytes:
        mvt.TileSpec.of(tms_id, z, row, col)  # NotFound for tiles outside the grid
        if not layer.asset_path:
            raise NotFound(f"raster layer '{layer.id}' has no asset for version {layer.version}")
        area = clip.geometry if clip is not None else None
        png = await asyncio.to_thread(
            raster.render_raster, layer.asset_path, tms_id, z, row, col, area=area
        )
        return png or b""

    async def _run(
        self,
        plan: TilePlan,
        spec: mvt.TileSpec,
        output: mvt.Output,
        properties: tuple[str, ...],
        clip: AreaClip | None,
    ) -> Sequence[tuple[Any, ...]]:
        params = spec.params()
        if clip is None:
            table = self.overviews.table_for(plan.layer, spec)
            statement = plan.statement(spec.family, output, properties, table)
        else:  # the version table: an overview's rows were thinned without the area
            statement = plan.statement(spec.family, output, properties, clipped=True)
            params["area"] = clip.geometry
        try:
            async with self.reads.pool().connection() as conn:
                if conn not in self._configured:
                    await configure(conn)
                    self._configured.add(conn)
                cursor = await conn.execute(statement, params, prepare=True, binary=True)
                return await cursor.fetchall()
        except psycopg.errors.QueryCanceled:
            raise DatabaseUnavailable(
                f"the tile {spec.tms_id}/{spec.z}/{spec.row}/{spec.col} of "
                f"'{plan.layer.id}' took longer than the statement timeout; retry later"
            ) from None
        except psycopg.OperationalError as exc:  # the database down or restarting
            raise unavailable(exc) from None


async def configure(conn: AsyncConnection) -> None:
    """Session settings for tile queries: no JIT. Tile statements are short and run
    thousands of times; PostgreSQL's JIT compiles them on every execution when their cost
    estimate is high (aggregates over many rows), which took 250 ms for a 25 ms tile."""
    await conn.execute("SET jit = off")


def _is_vector(layer: Layer) -> bool:
    if layer.kind != "vector":
        raise InvalidParameter(f"'{layer.id}' is a raster layer: ask for map tiles (PNG)")
    return True
