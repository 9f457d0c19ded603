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
from dataclasses import dataclass, field, replace
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
from layers.rollup import (
    RollupChanges,
    refresh_rollups_for_layer,
    rollup_member_ids,
    rollups_without,
)
from layers.versions import rollback
from layers.webhooks.events import (
    LAYER_DELETED,
    LAYER_ROLLED_BACK,
    Change,
    record_change_sync,
    who_of,
)

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
        record_change_sync(conn, _change(LAYER_ROLLED_BACK, layer_id, version, event))
        detail = dict(event.detail) | {"rollups": rollups}
        write_event_sync(conn, replace(event, layer_id=layer_id, version=version, detail=detail))
    return RolledBack(version, rollups)


@dataclass(frozen=True)
class Deleted:
    versions: int
    tables: list[str]
    files: list[str]
    rollups: RollupChanges = field(default_factory=RollupChanges)  # refreshed, or removed


def delete_layer(
    conn: psycopg.Connection, layer_id: str, event: AuditEvent, raster_dir: Path | None
) -> Deleted:
    """Remove ``layer_id`` from the catalog with every version, its tables, stable view and
    tile overviews, and audit it, in one transaction; then its raster files (below
    ``raster_dir`` only).

    A county layer of a theme takes its rows out of the roll-ups above it: each is refreshed
    without it, or removed with it when it was their last member (``rollup.rollups_without``).
    A roll-up itself is rebuilt from its members whenever one changes, so it is deleted by
    deleting them: while it has any, asking to delete it is a 409 that names them."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"layer:{layer_id}",))
        row = conn.execute(sql_text("lock_layer_for_delete"), {"layer": layer_id}).fetchone()
        if row is None:
            raise no_such_layer(layer_id)
        current, rollup_of, level, adcode = row
        record_change_sync(conn, _change(LAYER_DELETED, layer_id, current, event))
        if rollup_of is not None:
            _check_no_members(conn, layer_id, rollup_of, level, adcode)
        storage, tables = _drop_layer(conn, layer_id)
        changes = RollupChanges() if rollup_of is not None else rollups_without(conn, layer_id)
        tables += [t for emptied in changes.emptied for t in _drop_layer(conn, emptied)[1]]
        _drop_tables(conn, layer_id, tables)
        detail = dict(event.detail) | {
            "versions": len(storage),
            "tables": tables,
            "rollups": {"refreshed": changes.refreshed, "removed": changes.emptied},
        }
        write_event_sync(conn, replace(event, layer_id=layer_id, version=current, detail=detail))
    files = _remove_files([r[2] for r in storage if r[2]], raster_dir)
    return Deleted(len(storage), tables, files, changes)


def _change(kind: str, layer_id: str, version: int, event: AuditEvent) -> Change:
    """The change notification of a rollback or delete, naming who as its audit row does."""
    return Change(kind, layer_id, version, who_of(event.actor.kind, event.actor.subject))


def _drop_layer(conn: psycopg.Connection, layer_id: str) -> tuple[list[tuple[Any, ...]], list[str]]:
    """The layer's catalog rows and stable view go; the versions it kept (version, table,
    file) and the tables to drop (a roll-up's version views are dropped here)."""
    storage = conn.execute(sql_text("layer_version_storage"), {"layer": layer_id}).fetchall()
    conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(_data(layer_id)))
    overviews = [r[0] for r in conn.execute(sql_text("delete_layer"), {"layer": layer_id})]
    tables = []
    for _, name, asset in storage:
        if asset is None and _is_view(conn, name):
            conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(_data(name)))
        elif asset is None:
            tables.append(name)
    return storage, tables + overviews


def _drop_tables(conn: psycopg.Connection, layer_id: str, tables: list[str]) -> None:
    for name in tables:
        try:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_data(name)))
        except psycopg.errors.DependentObjectsStillExist:
            raise Conflict(
                f"'{layer_id}' was not deleted: views outside the catalog read its table "
                f"{name}; drop those views first"
            ) from None


def _is_view(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute(sql_text("relation_is_view"), {"name": name}).fetchone()
    return bool(row and row[0])


def _data(name: str) -> sql.Identifier:
    return sql.Identifier(DATA_SCHEMA, name)


def _check_no_members(
    conn: psycopg.Connection, layer_id: str, theme: str, level: str, adcode: str
) -> None:
    members = rollup_member_ids(conn, theme, level, adcode)
    if members:
        raise Conflict(
            f"'{layer_id}' is the roll-up of the county layers of theme '{theme}' "
            f"({', '.join(members)}) and is rebuilt whenever one of them changes; delete "
            "those layers instead — each delete takes its rows out of the roll-up, and the "
            "last one removes it"
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
