"""Write one new layer version and swap it in, all in one transaction.

The version table is created, filled with COPY, indexed and analysed inside the
same transaction that points the catalog at it. Readers therefore see the old
version or the new one, never a mixture; and an ingest killed half-way leaves
nothing behind, because PostgreSQL rolls the whole transaction back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import pandas as pd
import psycopg
import shapely
from psycopg import sql
from psycopg.types.json import Jsonb

from ingest.geometry import GeometryArray
from ingest.schema import SQL_TYPES
from layers.catalog import FieldInfo
from layers.errors import Conflict, NotFound

DATA_SCHEMA = "onemap_data"


def sql_text(name: str) -> bytes:
    return (resources.files("ingest") / "sql" / f"{name}.sql").read_bytes()


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

    def params(self, version: int) -> dict[str, Any]:
        values = dict(self.__dict__)
        values["metadata"] = Jsonb(self.metadata)
        values["version"] = version
        return values


@dataclass
class VersionStats:
    """What the loader learnt while writing, stored with the version."""

    feature_count: int = 0
    bounds: list[float] | None = None
    temporal: tuple[datetime | None, datetime | None] = (None, None)

    def add_bounds(self, geoms: GeometryArray) -> None:
        if len(geoms) == 0:
            return
        minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(geoms))
        if self.bounds is None:
            self.bounds = [minx, miny, maxx, maxy]
        else:
            b = self.bounds
            self.bounds = [min(b[0], minx), min(b[1], miny), max(b[2], maxx), max(b[3], maxy)]


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


def version_table_name(layer_id: str, version: int) -> str:
    return f"{layer_id.replace('-', '_')}_v{version}"


class VersionWriter:
    """Creates a version table on an open transaction and COPYs batches into it."""

    def __init__(
        self,
        conn: psycopg.Connection,
        layer_id: str,
        fields: Sequence[FieldInfo],
        geometry_type: str,
        srid: int,
        *,
        expect_new: bool | None,
    ) -> None:
        self.conn = conn
        self.layer_id = layer_id
        self.fields = list(fields)
        self.geometry_type = geometry_type
        self.srid = srid
        self.stats = VersionStats()
        self.version, self.layer_exists = reserve_version(conn, layer_id, expect_new)
        self.table_name = version_table_name(layer_id, self.version)
        self._create_table()

    @property
    def _table(self) -> sql.Identifier:
        return sql.Identifier(DATA_SCHEMA, self.table_name)

    def _create_table(self) -> None:
        columns = [
            sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(SQL_TYPES[f.type]))
            for f in self.fields
        ]
        geom_type = sql.SQL("geometry({}, {})").format(
            sql.SQL(self.geometry_type), sql.Literal(self.srid)
        )
        self.conn.execute(
            sql.SQL(
                "CREATE TABLE {} (fid bigint NOT NULL DEFAULT nextval('onemap.feature_id_seq'), "
                "{}geom {})"
            ).format(
                self._table,
                sql.SQL("").join(sql.SQL("{}, ").format(c) for c in columns),
                geom_type,
            )
        )

    def write(self, frame: pd.DataFrame, geoms: GeometryArray) -> None:
        """COPY one batch (attribute frame in field order, geometries in storage CRS)."""
        names = [sql.Identifier(f.name) for f in self.fields] + [sql.Identifier("geom")]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            self._table, sql.SQL(", ").join(names)
        )
        hexes = shapely.to_wkb(shapely.set_srid(geoms, self.srid), hex=True, include_srid=True)
        columns = [_column_values(frame[f.source_name], f.type) for f in self.fields]
        with self.conn.cursor().copy(statement) as copy:
            for i, geom_hex in enumerate(hexes):
                copy.write_row([col[i] for col in columns] + [geom_hex])
        self.stats.feature_count += len(geoms)
        self.stats.add_bounds(geoms)

    def finish(self) -> None:
        """Primary key, spatial index and planner statistics, still in the transaction."""
        table = self._table
        self.conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (fid)").format(table))
        self.conn.execute(sql.SQL("CREATE INDEX ON {} USING gist (geom)").format(table))
        self.conn.execute(sql.SQL("ANALYZE {}").format(table))


def _column_values(series: pd.Series, kind: str) -> list[Any]:
    values = series.astype(object).where(series.notna(), None).tolist()
    if kind == "timestamp":
        return [v.isoformat() if v is not None else None for v in values]
    return values


def publish_version(
    writer: VersionWriter, meta: LayerMeta, *, source_sha256: str | None, lineage: dict[str, Any]
) -> int:
    """Point the catalog at the writer's table (same transaction) and return the version."""
    conn, version = writer.conn, writer.version
    params = meta.params(version)
    conn.execute(sql_text("update_layer" if writer.layer_exists else "insert_layer"), params)
    conn.execute(
        sql_text("insert_version"),
        {
            "layer_id": meta.id,
            "version": version,
            "table_name": writer.table_name,
            "storage_srid": writer.srid,
            "geometry_type": writer.geometry_type,
            "extent": writer.stats.bounds,
            "temporal_start": writer.stats.temporal[0],
            "temporal_end": writer.stats.temporal[1],
            "temporal_field": lineage.get("temporal_field"),
            "field_schema": Jsonb([f.to_json() for f in writer.fields]),
            "feature_count": writer.stats.feature_count,
            "source_sha256": source_sha256,
            "lineage": Jsonb(json.loads(json.dumps(lineage, default=str))),
            "created_by": lineage.get("who") or "onemap",
        },
    )
    replace_stable_view(conn, meta.id, writer.table_name)
    return version


def replace_stable_view(conn: psycopg.Connection, layer_id: str, table_name: str) -> None:
    """``onemap_data.<layer id>`` always shows the current version (for SQL clients)."""
    view = sql.Identifier(DATA_SCHEMA, layer_id)
    conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(view))
    conn.execute(
        sql.SQL("CREATE VIEW {} AS SELECT * FROM {}").format(
            view, sql.Identifier(DATA_SCHEMA, table_name)
        )
    )
