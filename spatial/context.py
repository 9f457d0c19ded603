"""What an analysis runs with: a database connection, the catalog, progress, lineage.

Analyses are plain functions; when their inputs name published layers they read them
through a ``Context``. The web service builds one per job (with the job's connection,
statement timeout and progress reporting); a notebook builds one with ``Context.open``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from layers.catalog import Catalog, Layer, load_catalog
from layers.db import connect
from layers.errors import DatabaseUnavailable, InvalidParameter, NotFound
from layers.platform import AdminLayers
from layers.settings import AdminSettings
from spatial.isolate import Isolation

T = TypeVar("T")

Progress = Callable[[int, str], None]  # (percent 0..100, message)


def _ignore_progress(percent: int, message: str) -> None:
    return None


def _never_stop() -> None:
    return None


CHECK_INTERVAL_S = 0.2  # a checkpoint asks whether to stop at most this often


@dataclass
class Context:
    conn: psycopg.Connection | None = None
    catalog: Catalog = field(default_factory=Catalog)
    progress: Progress = _ignore_progress
    # Where admin units of each level are published (ONEMAP_ADMIN_LAYERS, as for within=).
    admin_layers: AdminLayers = field(default_factory=lambda: AdminSettings().admin)
    # None: any raster path may be read (notebooks); a tuple: only files below these roots.
    raster_roots: tuple[Path, ...] | None = None
    used: dict[str, int] = field(default_factory=dict)  # layer id -> version read
    # Other versions read (spatial.versions: change detection reads two of one layer).
    versions_read: set[tuple[str, int]] = field(default_factory=set)
    # The inputs as parsed (spatial.registry.recorded_parameters): lineage beside ``used``.
    parameters: dict[str, object] = field(default_factory=dict)
    # layer id -> EWKB of the areas an area-limited caller may read it in (absent: all of it);
    # made by the web layer's gate (ogc.gate.areas.analysis_clips) for a job's owner, applied
    # in SQL by every input read (spatial.sqlparts.row_conditions).
    clips: Mapping[str, bytes] = field(default_factory=dict)
    # Raises when the work must stop (a dismissed job, a stopping server); cheap to call.
    should_stop: Callable[[], None] = _never_stop
    # Where heavy parts run (``compute``): None in this process (notebooks), else a child
    # process with a memory bound (a service's jobs, ONEMAP_PROCESS_MAX_MEMORY_MB).
    isolation: Isolation | None = None
    _checked_at: float = 0.0

    @classmethod
    @contextmanager
    def open(cls, database_url: str) -> Iterator[Context]:
        """A context on its own connection, for notebooks and scripts."""
        with connect(database_url, autocommit=True) as conn:
            yield cls(conn=conn, catalog=load_catalog(conn))

    def checkpoint(self) -> None:
        """Called between steps and inside long loops: stop here if the job must stop."""
        now = time.monotonic()
        if now - self._checked_at >= CHECK_INTERVAL_S:
            self._checked_at = now
            self.should_stop()

    def compute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``: an analysis' heavy pure-Python part (picklable arguments
        and result, no database), in a bounded child process when the context has an
        ``isolation``."""
        if self.isolation is None:
            return fn(*args, **kwargs)
        return self.isolation.run(self.checkpoint, fn, *args, **kwargs)

    def connection(self) -> psycopg.Connection:
        if self.conn is None:
            raise DatabaseUnavailable(
                "this analysis reads published layers but no database is connected; "
                "pass features inline or open a Context with a database URL"
            )
        return self.conn

    def layer(self, layer_id: str) -> Layer:
        """The catalog entry of an input, remembered with its version for lineage."""
        try:
            layer = self.catalog.get(layer_id)
        except NotFound:  # an input naming a missing layer is a bad request, not a 404
            raise InvalidParameter(
                f"input layer '{layer_id}' does not exist; see /collections for the ids"
            ) from None
        self.used[layer.id] = layer.version
        return layer

    def clip(self, layer_id: str) -> bytes | None:
        """The areas the caller may read ``layer_id`` in (EWKB), or None for all of it."""
        return self.clips.get(layer_id)

    def lineage(self) -> list[dict[str, object]]:
        read = sorted({*self.used.items(), *self.versions_read})
        return [{"layer": lid, "version": v} for lid, v in read]
