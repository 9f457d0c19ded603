"""The layer catalog: what is published, read in one query and kept in memory.

A ``Catalog`` is an immutable snapshot. Processes load it at start-up and again
whenever the database notifies a change (see ``layers.watch``), never per request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import psycopg
from psycopg.rows import dict_row

from layers.edit.rules import EditRules
from layers.errors import NotFound

# Catalog field types and the PostgreSQL column type each is stored as.
SQL_TYPES = {
    "string": "text",
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamptz",
}
FIELD_TYPES = tuple(SQL_TYPES)


@dataclass(frozen=True)
class FieldInfo:
    """One attribute column: its SQL name, the name it arrived with, and a title."""

    name: str
    type: str
    source_name: str = ""
    title: str = ""

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> FieldInfo:
        return cls(
            name=item["name"],
            type=item["type"],
            source_name=item.get("source_name", item["name"]),
            title=item.get("title", ""),
        )

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "type": self.type,
            "source_name": self.source_name or self.name,
            "title": self.title,
        }


@dataclass(frozen=True)
class Layer:
    """A published layer at its current version."""

    id: str
    kind: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    level: str
    adcode: str
    department_id: str | None
    department_name: str | None
    keywords: tuple[str, ...]
    license: str
    attribution: str
    access_level: str
    metadata: Mapping[str, Any]
    version: int
    table_name: str
    storage_srid: int
    geometry_type: str | None
    extent: tuple[float, float, float, float] | None
    temporal_start: datetime | None
    temporal_end: datetime | None
    temporal_field: str | None
    fields: tuple[FieldInfo, ...]
    feature_count: int
    version_created_at: datetime
    asset_path: str | None = None
    temporal_end_field: str | None = None  # with temporal_field: each feature's interval
    theme: str | None = None
    rollup_of: str | None = None
    editable: bool = False  # features may be changed through the API (ADR 0013)
    # The version that created ``table_name``: edits change the table in place, so tile
    # cache keys use this one and survive them (ADR 0013, decision 8). 0: not loaded.
    table_version: int = 0
    edit_rules: EditRules = field(default_factory=EditRules)  # area, id field, required

    @property
    def cache_version(self) -> int:
        """The version tile cache keys name (the table's; ``version`` when not loaded)."""
        return self.table_version or self.version

    @property
    def id_field(self) -> str | None:
        """The field whose values are the features' ids (None: the integer ``fid``)."""
        return self.edit_rules.id_field

    @property
    def title(self) -> str:
        return f"{self.title_zh} / {self.title_en}"

    def field(self, name: str) -> FieldInfo | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True)
class Catalog:
    """An immutable snapshot of every published layer, keyed by id."""

    layers: Mapping[str, Layer] = field(default_factory=dict)
    loaded_at: datetime | None = None

    def get(self, layer_id: str) -> Layer:
        try:
            return self.layers[layer_id]
        except KeyError:
            raise no_such_layer(layer_id) from None

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers.values())

    def __len__(self) -> int:
        return len(self.layers)


def no_such_layer(layer_id: str) -> NotFound:
    """The error of an unknown layer id (and of a layer the caller may not see)."""
    return NotFound(f"collection '{layer_id}' does not exist; see /collections for the list")


def _catalog_sql() -> bytes:
    return (resources.files("layers") / "sql" / "load_catalog.sql").read_bytes()


def layer_from_row(row: Mapping[str, Any]) -> Layer:
    extent = row["extent"]
    return Layer(
        id=row["id"],
        kind=row["kind"],
        title_zh=row["title_zh"],
        title_en=row["title_en"],
        description_zh=row["description_zh"],
        description_en=row["description_en"],
        level=row["level"],
        adcode=row["adcode"],
        department_id=row["department_id"],
        department_name=row["department_name"],
        keywords=tuple(row["keywords"] or ()),
        license=row["license"],
        attribution=row["attribution"],
        access_level=row["access_level"],
        metadata=row["metadata"] or {},
        version=row["version"],
        table_name=row["table_name"],
        storage_srid=row["storage_srid"],
        geometry_type=row["geometry_type"],
        extent=(extent[0], extent[1], extent[2], extent[3]) if extent else None,
        temporal_start=row["temporal_start"],
        temporal_end=row["temporal_end"],
        temporal_field=row["temporal_field"],
        temporal_end_field=row.get("temporal_end_field"),
        fields=tuple(FieldInfo.from_json(f) for f in row["field_schema"] or ()),
        feature_count=row["feature_count"],
        version_created_at=row["version_created_at"],
        asset_path=row.get("asset_path"),
        theme=row.get("theme"),
        rollup_of=row.get("rollup_of"),
        editable=bool(row.get("editable", False)),
        table_version=row.get("table_version") or row["version"],
        edit_rules=EditRules.from_json(row.get("edit_rules")),
    )


def load_catalog(conn: psycopg.Connection) -> Catalog:
    """Read the whole catalog with one query (sync)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_catalog_sql()).fetchall()
    return _snapshot(rows)


async def load_catalog_async(conn: psycopg.AsyncConnection) -> Catalog:
    """Read the whole catalog with one query (async)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_catalog_sql())
        rows = await cur.fetchall()
    return _snapshot(rows)


def _snapshot(rows: list[dict[str, Any]]) -> Catalog:
    from datetime import UTC

    layers = {row["id"]: layer_from_row(row) for row in rows}
    return Catalog(layers=layers, loaded_at=datetime.now(UTC))
