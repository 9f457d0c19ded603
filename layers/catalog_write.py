"""Writing the catalog: layers, their versions and departments.

Every write runs on the caller's transaction, so a version becomes current in the
same commit that creates its data (see ``ingest.publish``), and the trigger on
``onemap.layers`` tells every OneMap process to reload.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from layers.catalog import FieldInfo
from layers.errors import Conflict, InvalidParameter, NotFound
from layers.platform import STORAGE_SRID
from layers.webhooks.events import LAYER_PUBLISHED, Change, record_change_sync


def sql_text(name: str) -> bytes:
    return (resources.files("layers") / "sql" / f"{name}.sql").read_bytes()


@dataclass
class LayerMeta:
    """The catalog fields a department sets for a layer."""

    id: str
    title_zh: str
    title_en: str
    level: str
    adcode: str
    description_zh: str = ""
    description_en: str = ""
    department_id: str | None = None
    keywords: list[str] = field(default_factory=list)
    license: str = ""
    attribution: str = ""
    access_level: str = "public"
    metadata: dict[str, Any] = field(default_factory=dict)
    kind: str = "vector"
    theme: str | None = None
    rollup_of: str | None = None

    def params(self, version: int) -> dict[str, Any]:
        values = dict(self.__dict__)
        values["metadata"] = Jsonb(self.metadata)
        values["version"] = version
        return values


@dataclass
class VersionRecord:
    """One row of ``onemap.layer_versions``."""

    layer_id: str
    version: int
    table_name: str
    fields: list[FieldInfo]
    geometry_type: str | None
    extent: list[float] | None
    feature_count: int
    lineage: dict[str, Any]
    source_sha256: str | None = None
    temporal_start: datetime | None = None
    temporal_end: datetime | None = None
    temporal_field: str | None = None
    temporal_end_field: str | None = None
    asset_path: str | None = None
    storage_srid: int = STORAGE_SRID
    source_fingerprint: str | None = None

    def params(self) -> dict[str, Any]:
        values = dict(self.__dict__)
        values["field_schema"] = Jsonb([f.to_json() for f in values.pop("fields")])
        values["lineage"] = Jsonb(json.loads(json.dumps(self.lineage, default=str)))
        values["created_by"] = self.lineage.get("who") or "onemap"
        return values


def reserve_version(
    conn: psycopg.Connection, layer_id: str, expect_new: bool | None
) -> tuple[int, bool]:
    """Lock the layer for this transaction; return (next version, whether the layer exists)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"layer:{layer_id}",))
    row = conn.execute(sql_text("next_version"), {"id": layer_id}).fetchone()
    assert row is not None
    version, exists = int(row[0]), bool(row[1])
    if expect_new is True and exists:
        raise Conflict(
            f"layer '{layer_id}' already exists; publish a new version of it with "
            f"--layer {layer_id}, or choose another id"
        )
    if expect_new is False and not exists:
        raise NotFound(f"layer '{layer_id}' does not exist; omit --layer to create it")
    return version, exists


def make_current(
    conn: psycopg.Connection, meta: LayerMeta, record: VersionRecord, *, layer_exists: bool
) -> None:
    """Insert or update the layer row and its new version (deferred FK: either order);
    its ``layer.published`` event commits with it."""
    conn.execute(
        sql_text("update_layer" if layer_exists else "insert_layer"), meta.params(record.version)
    )
    values = record.params()
    conn.execute(sql_text("insert_version"), values)
    count = {"featureCount": record.feature_count, "kind": meta.kind}
    change = Change(LAYER_PUBLISHED, meta.id, record.version, values["created_by"], count)
    record_change_sync(conn, change)


def department_ids(conn: psycopg.Connection) -> list[str]:
    """The registered departments' ids (a layer's department must be one of them)."""
    return [row[0] for row in conn.execute(sql_text("department_ids"))]


def require_registered(department: str | None, known: Collection[str]) -> None:
    """A department a layer is given must be registered (a 400 listing those that are)."""
    if department is not None and department not in known:
        listed = ", ".join(sorted(known)[:20]) or "none yet"
        raise InvalidParameter(
            f"department {department[:60]!r} is not registered; registered: {listed}"
        )


def upsert_department(conn: psycopg.Connection, department: dict[str, str]) -> None:
    conn.execute(sql_text("upsert_department"), department)


def existing_meta(conn: psycopg.Connection, layer_id: str) -> LayerMeta:
    """The catalog fields of a published layer, to carry over to its next version."""
    row = conn.execute(
        "SELECT id, title_zh, title_en, level, adcode, description_zh, description_en, "
        "department_id, keywords, license, attribution, access_level, metadata, kind, theme, "
        "rollup_of FROM onemap.layers WHERE id = %s",
        (layer_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"layer '{layer_id}' does not exist; omit --layer to create it")
    names = [
        "id",
        "title_zh",
        "title_en",
        "level",
        "adcode",
        "description_zh",
        "description_en",
        "department_id",
        "keywords",
        "license",
        "attribution",
        "access_level",
        "metadata",
        "kind",
        "theme",
        "rollup_of",
    ]
    return LayerMeta(**dict(zip(names, row, strict=True)))
