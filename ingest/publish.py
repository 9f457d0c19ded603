"""Write one new layer version and swap it in, all in one transaction.

The version table is created, filled with COPY, indexed and analysed inside the
same transaction that points the catalog at it. Readers therefore see the old
version or the new one, never a mixture; and an ingest killed half-way leaves
nothing behind, because PostgreSQL rolls the whole transaction back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import psycopg
import pyarrow as pa
from numpy.typing import NDArray
from psycopg import Copy, sql

from ingest.copybinary import SIGNATURE, TRAILER, attribute_field, geometry_field, id_field, rows
from ingest.feature_ids import FeatureIds
from ingest.geometry import Bounds, GeometryArray, bounds_of, union_bounds
from ingest.temporal import LayerTime
from layers.catalog import SQL_TYPES, FieldInfo
from layers.catalog_write import LayerMeta, VersionRecord, make_current, reserve_version
from layers.platform import DATA_SCHEMA
from layers.versions import drop_orphans, replace_stable_view

__all__ = ["LayerMeta", "VersionWriter", "publish_version"]

# WKB, the shapely type id of each geometry to store as a one-part multi (-1: as it is),
# and which geometries have Z (None: none).
GeometryColumn = tuple[pa.Array, NDArray[np.int32], NDArray[np.bool_] | None]


@dataclass
class VersionStats:
    """What the loader learnt while writing, stored with the version."""

    feature_count: int = 0
    bounds: list[float] | None = None

    def add_bounds(self, geoms: GeometryArray) -> None:
        self.bounds = union_bounds(self.bounds, bounds_of(geoms))

    def merge_bounds(self, box: Bounds | None) -> None:
        self.bounds = union_bounds(self.bounds, box)


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
        ids: FeatureIds,
        expect_new: bool | None,
    ) -> None:
        self.conn = conn
        self.ids = ids
        self.layer_id = layer_id
        self.fields = list(fields)
        self.geometry_type = geometry_type
        self.srid = srid
        self.stats = VersionStats()
        self.version, self.layer_exists = reserve_version(conn, layer_id, expect_new)
        self.table_name = version_table_name(layer_id, self.version)
        # Under the layer's lock: a table of this never-published version's name is a
        # leftover (manual work, a restored dump) that would make every retry fail.
        drop_orphans(conn, only=self.table_name)
        self._create_table()
        self._stream = ExitStack()
        self._copy: Copy | None = None

    def __enter__(self) -> VersionWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Ends the COPY; on an error PostgreSQL discards it with the transaction."""
        self._stream.__exit__(*exc_info)  # type: ignore[arg-type]

    @property
    def table(self) -> sql.Identifier:
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
            sql.SQL("CREATE TABLE {} (fid bigint NOT NULL, {}geom {})").format(
                self.table,
                sql.SQL("").join(sql.SQL("{}, ").format(c) for c in columns),
                geom_type,
            )
        )

    def write(self, table: pa.RecordBatch, geometry: GeometryColumn) -> int:
        """Send one batch down the open binary COPY; return the fid of its first feature
        (the others follow on).

        One COPY runs for the whole load, so PostgreSQL parses a batch while the next
        one is read and prepared: the two cores work at once.
        """
        fids = self.ids.take(len(geometry[0]))
        fields = [attribute_field(table.column(f.source_name), f.type) for f in self.fields]
        data = rows([id_field(fids), *fields, geometry_field(*geometry)])
        self._open_copy().write(data)
        self.stats.feature_count += len(geometry[0])
        return int(fids[0]) if len(fids) else 0

    def _open_copy(self) -> Copy:
        if self._copy is None:
            names = [
                sql.Identifier(name) for name in ("fid", *(f.name for f in self.fields), "geom")
            ]
            statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT binary)").format(
                self.table, sql.SQL(", ").join(names)
            )
            self._copy = self._stream.enter_context(self.conn.cursor().copy(statement))
            self._copy.write(SIGNATURE)
        return self._copy

    def end_copy(self) -> None:
        """End the COPY; PostgreSQL reports here a row it rejects late."""
        if self._copy is not None:
            self._copy.write(TRAILER)
            self._copy = None
        self._stream.close()

    def finish(
        self, observed_types: set[str], once_indexed: Callable[[], None], single: str | None = None
    ) -> None:
        """Planner statistics, primary key and spatial index, still in the transaction.

        ``once_indexed`` runs last (``ingest.deferred_check``'s repairs, by fid). Statistics
        come first: they are a sample either way, and it gives the check more time.
        """
        self.end_copy()
        table = self.table
        if self.geometry_type.startswith("Geometry") and len(observed_types) == 1:
            z = self.geometry_type.removeprefix("Geometry")  # "Z" when Z is kept
            self._narrow_geometry_type(observed_types.pop() + z)
        self.conn.execute(sql.SQL("ANALYZE {}").format(table))
        self.conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (fid)").format(table))
        self.conn.execute(sql.SQL("CREATE INDEX ON {} USING gist (geom)").format(table))
        once_indexed()
        if single is not None and self._one_part_each():  # after the repairs: they may split
            self._narrow_geometry_type(single, using="ST_GeometryN(geom, 1)")

    def _one_part_each(self) -> bool:
        statement = sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {} WHERE ST_NumGeometries(geom) > 1)")
        row = self.conn.execute(statement.format(self.table)).fetchone()
        return bool(row and row[0])

    def apply_fixes(self, fixes: BinaryIO) -> None:
        """Apply ``ingest.deferred_check``'s fixes: repaired geometries, or NULL to delete.

        They are copied into a temporary table and applied by two joins, whatever
        their number.
        """
        self.conn.execute(
            "CREATE TEMP TABLE onemap_fixes (fid bigint PRIMARY KEY, geom geometry) ON COMMIT DROP"
        )
        with self.conn.cursor().copy("COPY onemap_fixes FROM STDIN WITH (FORMAT binary)") as copy:
            while chunk := fixes.read(1 << 20):
                copy.write(chunk)
        fixes_table = sql.Identifier("onemap_fixes")
        deleted = self.conn.execute(
            sql.SQL("DELETE FROM {} t USING {} f WHERE t.fid = f.fid AND f.geom IS NULL").format(
                self.table, fixes_table
            )
        ).rowcount
        self.stats.feature_count -= deleted
        repaired = sql.SQL("ST_SetSRID(f.geom, {})").format(sql.Literal(self.srid))
        if self._multi:
            repaired = sql.SQL("ST_Multi({})").format(repaired)
        self.conn.execute(
            sql.SQL(
                "UPDATE {} t SET geom = {} FROM {} f WHERE t.fid = f.fid AND f.geom IS NOT NULL"
            ).format(self.table, repaired, fixes_table)
        )

    @property
    def _multi(self) -> bool:
        return self.geometry_type.startswith("Multi")

    def _narrow_geometry_type(self, geometry_type: str, using: str = "geom") -> None:
        """A source that declared no type (GeoJSON, WKT CSV) but holds one gets a typed column."""
        self.conn.execute(
            sql.SQL("ALTER TABLE {} ALTER COLUMN geom TYPE geometry({}, {}) USING {}").format(
                self.table, sql.SQL(geometry_type), sql.Literal(self.srid), sql.SQL(using)
            )
        )
        self.geometry_type = geometry_type


def publish_version(
    writer: VersionWriter,
    meta: LayerMeta,
    *,
    source: tuple[str, str],
    lineage: dict[str, Any],
    temporal: LayerTime | None = None,
) -> int:
    """Point the catalog at the writer's table (same transaction) and return the version.

    ``source`` is the file's (sha256, fingerprint of sha256 + read options).
    """
    record = VersionRecord(
        layer_id=meta.id,
        version=writer.version,
        table_name=writer.table_name,
        fields=writer.fields,
        geometry_type=writer.geometry_type,
        extent=writer.stats.bounds,
        feature_count=writer.stats.feature_count,
        lineage=lineage,
        source_sha256=source[0],
        source_fingerprint=source[1],
        storage_srid=writer.srid,
    )
    if temporal is not None and temporal.choice is not None:
        record.temporal_field = temporal.choice.field
        record.temporal_end_field = temporal.choice.end_field
        record.temporal_start, record.temporal_end = temporal.extent
    make_current(writer.conn, meta, record, layer_exists=writer.layer_exists)
    replace_stable_view(writer.conn, meta.id, writer.table_name)
    return writer.version
