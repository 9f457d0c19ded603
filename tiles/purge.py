"""After edits: delete exactly the cached tiles they touched, then make them again.

An edit (through the API or a database client: both leave rows in ``onemap.feature_edits``
and move the layer to a new version on its table, ADR 0013) keeps the layer's tile cache
keys (``Layer.cache_version``). Every process, on the catalog change that announces the
new version and *before* serving it, reads the boxes of the geometries the edits removed
and wrote and deletes the touched tiles of every grid, level, format, scope and property
selection from the disk cache (``TileCache.purge_area``), then tells its subscribers (the
fast layer's hot tiles). The tiles it deleted with the default selection and the public
scope are made again in the background, so the cache is as warm as before the edit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from layers.access.caller import PUBLIC_SCOPE
from layers.catalog import Catalog, Layer
from tiles import grids
from tiles.cache import TileKey
from tiles.edit_area import EditArea
from tiles.plan import TilePlan
from tiles.service import TileProducer

MAX_BOXES = 1_000  # beyond this many geometries, one box around them all
# The box of each geometry an edit removed or wrote (storage CRS: lon/lat).
BOXES_SQL = b"""
SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)
FROM onemap.feature_edits AS e,
     LATERAL (VALUES (e.before -> 'geometry'), (e.after -> 'geometry')) AS g(geometry),
     LATERAL (SELECT box2d(ST_GeomFromGeoJSON(g.geometry)) AS b) AS x
WHERE e.layer_id = %(layer)s AND e.version > %(after)s AND e.version <= %(upto)s
  AND jsonb_typeof(g.geometry) = 'object'
LIMIT %(limit)s
"""
EXTENT_SQL = b"""
SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (
    SELECT ST_Extent(ST_GeomFromGeoJSON(g.geometry)) AS b
    FROM onemap.feature_edits AS e,
         LATERAL (VALUES (e.before -> 'geometry'), (e.after -> 'geometry')) AS g(geometry)
    WHERE e.layer_id = %(layer)s AND e.version > %(after)s AND e.version <= %(upto)s
      AND jsonb_typeof(g.geometry) = 'object') AS x
"""
PurgeListener = Callable[[str, EditArea], object]
log = logging.getLogger("onemap.tiles.purge")


@dataclass(frozen=True)
class Purge:
    """What one process deleted for one layer's edits, and how long it took."""

    layer_id: str
    area: EditArea
    removed: tuple[TileKey, ...]
    seconds: float  # all of it: reading the edits' boxes, deleting, telling the listeners
    file_seconds: float  # deleting the files
    file_cpu_seconds: float  # the CPU time of that (what the machine's load does not add)


def edited_in_place(old: Layer, new: Layer) -> bool:
    """Whether ``new`` differs from ``old`` by edits alone: a later version on the same
    table, nothing else changed but what an edit changes (count, extent, time)."""
    if new.version <= old.version or new.cache_version != old.cache_version:
        return False
    edited = dataclasses.replace(
        old,
        version=new.version,
        extent=new.extent,
        feature_count=new.feature_count,
        version_created_at=new.version_created_at,
    )
    return edited == new


async def edit_area(
    pool: AsyncConnectionPool, layer_id: str, after: int, upto: int
) -> EditArea | None:
    """The boxes of the geometries of the edits producing versions ``after`` < v ≤ ``upto``."""
    params = {"layer": layer_id, "after": after, "upto": upto, "limit": MAX_BOXES + 1}
    async with pool.connection() as conn:
        rows = await (await conn.execute(BOXES_SQL, params)).fetchall()
        if len(rows) > MAX_BOXES:
            rows = await (await conn.execute(EXTENT_SQL, params)).fetchall()
    boxes = tuple(_box(row) for row in rows if row[0] is not None)
    return EditArea(boxes) if boxes else None


def _box(row: Sequence[float]) -> grids.Bounds:
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


class EditPurger:
    """One app's purges: each edited version range is purged once, however many reloads
    announce it (the writer's own and the NOTIFY's run concurrently); a reload that finds
    its range being purged waits for that purge before its snapshot is served."""

    def __init__(self, producer: TileProducer, listeners: Sequence[PurgeListener] = ()) -> None:
        self.producer = producer
        self.listeners = listeners
        self._upto: dict[str, int] = {}  # the last version each layer was purged for
        self._running: dict[str, asyncio.Future[Purge | None]] = {}

    async def after_edits(self, old: Catalog, new: Catalog) -> list[Purge]:
        """Delete the tiles of every layer ``new`` shows edited since ``old``; call each
        listener with the layer and the area once the files are gone."""
        purges = []
        for layer in new:
            before = old.layers.get(layer.id)
            if before is None or not edited_in_place(before, layer):
                continue
            upto = self._upto.get(layer.id, 0)
            if layer.version <= upto:
                running = self._running.get(layer.id)
                if running is not None:
                    await asyncio.shield(running)
                continue
            self._upto[layer.id] = layer.version
            work = asyncio.ensure_future(self._purge(layer, max(before.version, upto)))
            self._running[layer.id] = work
            purge = await work
            if purge is not None:
                purges.append(purge)
        return purges

    async def _purge(self, layer: Layer, after: int) -> Purge | None:
        started = time.perf_counter()
        area = await edit_area(self.producer.pool, layer.id, after, layer.version)
        if area is None:
            return None
        self.producer.begin_purge(layer.id, area)
        deleting = time.perf_counter()
        removed, cpu = await asyncio.to_thread(self._delete, layer, area)
        files = time.perf_counter() - deleting
        for listener in self.listeners:
            listener(layer.id, area)
        elapsed = time.perf_counter() - started
        purge = Purge(layer.id, area, tuple(removed), elapsed, files, cpu)
        log.info(
            "%s v%d: %d cached tiles purged in %.1f ms (%.1f ms deleting files, %.1f ms CPU)",
            layer.id,
            layer.version,
            len(removed),
            elapsed * 1000,
            files * 1000,
            cpu * 1000,
        )
        return purge

    def _delete(self, layer: Layer, area: EditArea) -> tuple[list[TileKey], float]:
        started = time.thread_time()
        removed = self.producer.cache.purge_area(layer.id, area, layer.cache_version)
        return removed, time.thread_time() - started


async def remake(
    producer: TileProducer, purge: Purge, plan_of: Callable[[str], TilePlan | None]
) -> int:
    """Make again the public, default-selection tiles ``purge`` deleted (with the plan of
    the catalog serving now); stop if the layer's table changed meanwhile. Counts them."""
    made = 0
    for key in purge.removed:
        plan = plan_of(key.layer_id)
        if plan is None or plan.layer.cache_version != key.version:
            return made
        if key.scope != PUBLIC_SCOPE or key.variant:
            continue  # made on the next request of such a caller
        if key.fmt == "png" and key.style != plan.style.version:
            continue  # restyled meanwhile: the old style's tile is garbage
        try:
            await _make(producer, plan, key)
        except Exception:  # e.g. a statement timeout: the next request makes it
            log.warning("re-making %s after an edit failed", key.relative_path(), exc_info=True)
            continue
        made += 1
    return made


async def _make(producer: TileProducer, plan: TilePlan, key: TileKey) -> None:
    if key.fmt == "png":
        await producer.map_tile(plan, key.tms_id, key.z, key.row, key.col, scope=key.scope)
    else:
        fields = plan.layer.field_names
        await producer.vector_tile(
            plan, key.tms_id, key.z, key.row, key.col, fields, scope=key.scope
        )
