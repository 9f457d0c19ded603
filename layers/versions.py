"""Layer versions: the stable view, rollback, and clean-up of what no version uses."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import psycopg
from psycopg import sql

from layers.catalog_write import sql_text
from layers.errors import InvalidParameter, NotFound
from layers.platform import DATA_SCHEMA

log = logging.getLogger("onemap.versions")
RASTER_GRACE_SECONDS = 3600


def replace_stable_view(conn: psycopg.Connection, layer_id: str, table_name: str) -> None:
    """``onemap_data.<layer id>`` always shows the current version (for SQL clients)."""
    view = sql.Identifier(DATA_SCHEMA, layer_id)
    conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(view))
    conn.execute(
        sql.SQL("CREATE VIEW {} AS SELECT * FROM {}").format(
            view, sql.Identifier(DATA_SCHEMA, table_name)
        )
    )


def rollback(conn: psycopg.Connection, layer_id: str, to_version: int | None = None) -> int:
    """Make an earlier version current again (default: the one before the current).

    The version's catalog metadata (title, licence, attribution, metadata) comes back with
    its rows; versions published before metadata was kept per version leave it as it is.
    """
    row = conn.execute(sql_text("lock_layer"), {"layer": layer_id}).fetchone()
    if row is None:
        raise NotFound(f"layer '{layer_id}' does not exist; see `onemap layers list`")
    current, kind = row
    target = to_version if to_version is not None else _previous_version(conn, layer_id, current)
    table = conn.execute(
        sql_text("version_table"), {"layer": layer_id, "version": target}
    ).fetchone()
    if table is None:
        raise NotFound(f"layer '{layer_id}' has no version {target}; see `onemap layers history`")
    if target == current:
        raise InvalidParameter(f"version {target} of '{layer_id}' is already current")
    restored = conn.execute(
        sql_text("restore_version_meta"), {"layer": layer_id, "version": target}
    ).fetchone()
    if restored is not None and not restored[0]:
        log.warning(
            "version %s of %s predates metadata per version; kept the metadata", target, layer_id
        )
    if kind == "vector":
        replace_stable_view(conn, layer_id, table[0])
    return int(target)


def _previous_version(conn: psycopg.Connection, layer_id: str, current: int) -> int:
    row = conn.execute(
        sql_text("previous_version"), {"layer": layer_id, "version": current}
    ).fetchone()
    if row is None or row[0] is None:
        raise InvalidParameter(f"layer '{layer_id}' has no version before {current}")
    return int(row[0])


def drop_orphans(
    conn: psycopg.Connection, raster_dir: Path | None = None, *, only: str | None = None
) -> list[str]:
    """Drop tables and raster files no catalog version (or tile overview) refers to
    (``only``: just the table of that name, if it is one such; no rasters).

    An ingest runs in one transaction, so a killed ingest normally leaves nothing; this
    also catches leftovers of manual work or of a crash between file and catalog.
    Uncommitted tables of an ingest in progress are invisible here, so it is safe to run
    while others ingest.
    """
    params = {"schema": DATA_SCHEMA, "only": only}
    orphans = [row[0] for row in conn.execute(sql_text("orphan_tables"), params)]
    for name in orphans:
        conn.execute(sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier(DATA_SCHEMA, name)))
        log.warning("dropped orphaned table %s.%s", DATA_SCHEMA, name)
    return orphans if only else orphans + _drop_orphan_rasters(conn, raster_dir)


def _drop_orphan_rasters(conn: psycopg.Connection, raster_dir: Path | None) -> list[str]:
    if raster_dir is None or not raster_dir.exists():
        return []
    used = {row[0] for row in conn.execute(sql_text("raster_assets"))}
    dropped = []
    settled = time.time() - RASTER_GRACE_SECONDS  # an ingest may be writing a newer file
    for path in raster_dir.rglob("*.tif*"):
        if str(path.resolve()) not in used and path.stat().st_mtime < settled:
            path.unlink(missing_ok=True)
            dropped.append(str(path))
            log.warning("removed orphaned raster %s", path)
    return dropped


def history(conn: psycopg.Connection, layer_id: str) -> list[str]:
    """Human-readable lines: each version (current marked) and each ingest run."""
    current = conn.execute(sql_text("current_version"), {"layer": layer_id}).fetchone()
    if current is None:
        raise NotFound(f"layer '{layer_id}' does not exist; see `onemap layers list`")
    lines = [f"versions of {layer_id}:"]
    for version, created, count, sha in conn.execute(
        sql_text("version_history"), {"layer": layer_id}
    ):
        mark = "*" if version == current[0] else " "
        lines.append(f" {mark} v{version:<3} {created:%Y-%m-%d %H:%M} {count:>9} {sha or ''}")
    lines.append("ingest runs:")
    for row in conn.execute(sql_text("ingest_run_history"), {"layer": layer_id}):
        at, status, version, name, n_in, n_out, who, error = row
        lines.append(
            f"   {at:%Y-%m-%d %H:%M:%S} {status:<9} v{version or '-'} {name} "
            f"{n_in or 0}->{n_out or 0} by {who} {error}".rstrip()
        )
    return lines
