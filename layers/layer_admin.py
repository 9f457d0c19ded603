"""Changing a published layer: rollback, metadata and style, delete — audited.

One implementation for the admin API (``ogc/routers/admin_layers.py``) and the command
line (``onemap layers rollback|delete``). Each change and its audit row commit together
(``AuditEvent`` given by the caller, filled in here); the trigger on ``onemap.layers`` makes
every replica reload its catalog. Who may ask for a change is the gate's question
(``ogc.gate.ownership.writable_layer``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from layers.access.audit import AuditEvent, write_event, write_event_sync
from layers.catalog import Layer, no_such_layer
from layers.catalog_write import sql_text
from layers.errors import Conflict, InvalidParameter
from layers.platform import DATA_SCHEMA
from layers.rollup import refresh_rollups_for_layer
from layers.versions import rollback

log = logging.getLogger("onemap.layers")


@dataclass(frozen=True)
class RolledBack:
    version: int
    rollups: list[str]


def rollback_layer(
    conn: psycopg.Connection, layer_id: str, to_version: int | None, event: AuditEvent
) -> RolledBack:
    """Make ``to_version`` (default: the previous one) current again, refresh the roll-ups
    built from the layer, and audit it — in one transaction (``layers.versions.rollback``
    keeps the layer's current access)."""
    with conn.transaction():
        version = rollback(conn, layer_id, to_version)
        rollups = refresh_rollups_for_layer(conn, layer_id)
        detail = dict(event.detail) | {"rollups": rollups}
        write_event_sync(conn, replace(event, layer_id=layer_id, version=version, detail=detail))
    return RolledBack(version, rollups)


@dataclass(frozen=True)
class Deleted:
    versions: int
    tables: list[str]
    files: list[str]


def delete_layer(
    conn: psycopg.Connection, layer_id: str, event: AuditEvent, raster_dir: Path | None
) -> Deleted:
    """Remove ``layer_id`` from the catalog with every version, its tables, stable view and
    tile overviews, and audit it, in one transaction; then its raster files (below
    ``raster_dir`` only). Roll-ups follow their members, so a roll-up layer, and a county
    layer that roll-ups are built from, are a 409 (their views would lose rows silently)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"layer:{layer_id}",))
        row = conn.execute(sql_text("lock_layer_for_delete"), {"layer": layer_id}).fetchone()
        if row is None:
            raise no_such_layer(layer_id)
        current, is_rollup, rolled_up = row
        _check_deletable(layer_id, is_rollup, rolled_up)
        storage = conn.execute(sql_text("layer_version_storage"), {"layer": layer_id}).fetchall()
        conn.execute(
            sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier(DATA_SCHEMA, layer_id))
        )
        overviews = [r[0] for r in conn.execute(sql_text("delete_layer"), {"layer": layer_id})]
        tables = [r[1] for r in storage if r[2] is None] + overviews
        for name in tables:
            conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(DATA_SCHEMA, name))
            )
        detail = dict(event.detail) | {"versions": len(storage), "tables": tables}
        write_event_sync(conn, replace(event, layer_id=layer_id, version=current, detail=detail))
    files = _remove_files([r[2] for r in storage if r[2]], raster_dir)
    return Deleted(len(storage), tables, files)


def _data(name: str) -> sql.Identifier:
    return sql.Identifier(DATA_SCHEMA, name)


def _check_deletable(layer_id: str, is_rollup: bool, rolled_up: bool) -> None:
    if is_rollup:
        raise Conflict(f"'{layer_id}' is a roll-up of its theme's county layers; it follows them")
    if rolled_up:
        raise Conflict(
            f"roll-up layers are built from '{layer_id}'; deleting it would change them "
            "silently — publish an empty version or ask the platform's admins"
        )


def _remove_files(paths: Sequence[str], raster_dir: Path | None) -> list[str]:
    """Raster files of a deleted layer, removed after the commit; only below ``raster_dir``
    (a path the catalog names elsewhere is left alone)."""
    if raster_dir is None:
        return []
    root, removed = raster_dir.resolve(), []
    for text in paths:
        path = Path(text).resolve()
        if path.is_relative_to(root) and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


@dataclass(frozen=True)
class MetadataChange:
    """Descriptive metadata and style to change; None leaves a value as it is. ``style``
    counts only with ``set_style`` (then None removes the layer's own style)."""

    title_zh: str | None = None
    title_en: str | None = None
    description_zh: str | None = None
    description_en: str | None = None
    keywords: tuple[str, ...] | None = None
    license: str | None = None
    attribution: str | None = None
    style: dict[str, Any] | None = None
    set_style: bool = False

    @property
    def empty(self) -> bool:
        return self == MetadataChange()

    def params(self, layer_id: str) -> dict[str, Any]:
        values = dict(self.__dict__)
        values["keywords"] = None if self.keywords is None else list(self.keywords)
        values["style"] = None if self.style is None else Jsonb(self.style)
        return values | {"id": layer_id}


METADATA_KEYS = (
    "titleZh",
    "titleEn",
    "descriptionZh",
    "descriptionEn",
    "keywords",
    "license",
    "attribution",
    "style",
)


async def change_layer_metadata(
    conn: psycopg.AsyncConnection[Any], layer: Layer, change: MetadataChange, event: AuditEvent
) -> dict[str, Any]:
    """Apply ``change`` to ``layer`` and audit it (what changed, before and after), in one
    transaction; the metadata after it."""
    if change.empty:
        raise InvalidParameter("nothing to change")
    async with conn.transaction():
        cur = await conn.execute(sql_text("update_layer_metadata"), change.params(layer.id))
        row = await cur.fetchone()
        if row is None:
            raise no_such_layer(layer.id)
        before = dict(zip(METADATA_KEYS, row[:8], strict=True))
        after = dict(zip(METADATA_KEYS, row[8:], strict=True))
        changed = [key for key in METADATA_KEYS if before[key] != after[key]]
        detail = dict(event.detail) | {
            "changed": changed,
            "before": {k: before[k] for k in changed},
            "after": {k: after[k] for k in changed},
        }
        done = replace(event, layer_id=layer.id, version=layer.version, detail=detail)
        await write_event(conn, done)
    return after
