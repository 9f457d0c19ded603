"""The ingest pipeline: one path for the CLI, the upload endpoint and the sample data.

Every run is recorded (``onemap.ingest_runs``); a published version is swapped in
atomically (see ``ingest.publish``); a failure leaves the published layer as it was.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import shapely

from ingest.copytext import promote_hex, wkb_hex
from ingest.formats import PreparedSource, prepare_source
from ingest.geometry import (
    RepairCounts,
    empty_mask,
    promotion_mask,
    repair,
    stored_type_names,
    target_geometry_type,
)
from ingest.infer import AdminScope
from ingest.lineage import RunRecord, record_run
from ingest.options import IngestOptions, IngestResult
from ingest.publish import LayerMeta, VersionWriter, publish_version
from ingest.schema import describe_fields
from ingest.source import Batch, prefetched, read_batches
from ingest.understand import Understanding, understand_vector
from layers.db import connect
from layers.errors import IngestError, OneMapError
from layers.rollup import refresh_rollups_for_layer

STORAGE_SRID = 4490  # CGCS2000, the platform's legal datum (docs/adr/0002-storage-crs.md)
log = logging.getLogger("onemap.ingest")

__all__ = ["IngestOptions", "IngestResult", "LayerMeta", "ingest_file", "ingest_vector"]


def ingest_file(
    database_url: str, path: Path, meta: LayerMeta, options: IngestOptions | None = None
) -> IngestResult:
    """Read, check, clean and publish ``path`` as a new version of ``meta.id``."""
    options = options or IngestOptions()
    record = _start_record(path, meta, options)
    try:
        result = _run(database_url, path, meta, options, record)
    except OneMapError as exc:
        record.error = exc.message
        record.stop_clock()
        record_run(database_url, record)
        raise
    record.absorb(result)
    result.seconds = record.stop_clock()
    record_run(database_url, record)
    log.info(result.summary())
    return result


ingest_vector = ingest_file  # the name the sample loader and analyses know


def _start_record(path: Path, meta: LayerMeta, options: IngestOptions) -> RunRecord:
    from ingest.source import file_sha256

    if not path.exists():
        raise IngestError(f"{path}: no such file")
    sha256, size = file_sha256(path)
    read_as = [options.source_layer, options.source_crs, options.encoding, options.keep_z]
    fingerprint = hashlib.sha256(json.dumps([sha256, *read_as]).encode()).hexdigest()
    return RunRecord(
        layer_id=meta.id,
        source_name=path.name,
        source_size=size,
        source_sha256=sha256,
        fingerprint=fingerprint,
        who=options.who or getpass.getuser(),
        started_at=datetime.now(UTC),
    )


def _run(
    database_url: str, path: Path, meta: LayerMeta, options: IngestOptions, record: RunRecord
) -> IngestResult:
    with connect(database_url, autocommit=True) as conn:
        unchanged = published_version_with_fingerprint(conn, meta.id, record.fingerprint)
        if unchanged is not None:
            return IngestResult(meta.id, unchanged, skipped=True)
        with tempfile.TemporaryDirectory(prefix="onemap-ingest-") as work:
            prepared = prepare_source(path, Path(work), options.source_layer, options.encoding)
            with conn.transaction():
                if prepared.kind == "raster":
                    return _publish_raster(conn, prepared, meta, options, record)
                return _publish_vector(conn, prepared, meta, options, record)


def published_version_with_fingerprint(
    conn: psycopg.Connection, layer_id: str, fingerprint: str
) -> int | None:
    row = conn.execute(
        "SELECT v.version FROM onemap.layers l JOIN onemap.layer_versions v "
        "ON v.layer_id = l.id AND v.version = l.current_version "
        "WHERE l.id = %s AND v.source_fingerprint = %s",
        (layer_id, fingerprint),
    ).fetchone()
    return int(row[0]) if row else None


def _publish_vector(
    conn: psycopg.Connection,
    prepared: PreparedSource,
    meta: LayerMeta,
    options: IngestOptions,
    record: RunRecord,
) -> IngestResult:
    understanding = understand_vector(prepared, options)
    load = VectorLoad(conn, understanding, meta, options)
    load.run()
    complete_meta(meta, load.scope, load.understanding.warnings)
    result = load.result()
    record.absorb(result)
    record.stop_clock()
    result.version = publish_version(
        load.writer,
        meta,
        source=(record.source_sha256, record.fingerprint),
        lineage=record.as_lineage(),
    )
    result.rollups = refresh_rollups_for_layer(conn, meta.id)
    return result


def _publish_raster(
    conn: psycopg.Connection,
    prepared: PreparedSource,
    meta: LayerMeta,
    options: IngestOptions,
    record: RunRecord,
) -> IngestResult:
    from ingest.publish_raster import publish_raster  # rasterio only when a raster comes

    record.detected = {"format": "GeoTIFF → COG", "storage_crs": "EPSG:4490"}
    complete_meta(meta, AdminScope(), record.warnings)
    version, info = publish_raster(
        conn,
        prepared.path,
        meta,
        options.raster_dir,
        source_crs=options.source_crs,
        expect_new=options.expect_new,
        lineage=record.as_lineage(),
        identity=(record.source_sha256, record.fingerprint),
    )
    detected = record.detected | {"crs": info.source_crs, "size": [info.width, info.height]}
    return IngestResult(
        meta.id, version, kind="raster", detected=detected, warnings=list(record.warnings)
    )


def complete_meta(meta: LayerMeta, scope: AdminScope, warnings: list[str]) -> None:
    """Fill a level/admin code left blank from the data's codes, or say what was assumed."""
    if meta.level and meta.adcode:
        return
    inferred = scope.level_and_code()
    if inferred is None:
        level, adcode = meta.level or "province", meta.adcode or "440000"
        warnings.append(
            f"no admin code given or found in the data; catalogued as {level} {adcode} "
            "(set --level and --adcode)"
        )
    else:
        level, adcode = meta.level or inferred[0], meta.adcode or inferred[1]
        warnings.append(f"catalogued as {level} {adcode}, inferred from the data's admin codes")
    meta.level, meta.adcode = level, adcode


class VectorLoad:
    """Streams one source into a new version table, batch by batch."""

    def __init__(
        self,
        conn: psycopg.Connection,
        understanding: Understanding,
        meta: LayerMeta,
        options: IngestOptions,
    ) -> None:
        self.conn, self.meta, self.options = conn, meta, options
        self.understanding = understanding
        self.source = understanding.source
        self.target_type = target_geometry_type(self.source.declared_type, options.keep_z)
        self.repairs = RepairCounts()
        self.features_in = 0
        self.scope = AdminScope()
        self._writer: VersionWriter | None = None

    @property
    def writer(self) -> VersionWriter:
        if self._writer is None:
            raise IngestError(f"{self.source.path.name}: nothing was read")
        return self._writer

    def run(self) -> None:
        with ExitStack() as stack:  # on an error the open COPY is failed before rollback
            for batch in prefetched(read_batches(self.source, self.options.batch_rows)):
                if self._writer is None:
                    self._writer = stack.enter_context(self._new_writer(batch))
                self._write_batch(batch)
            if self.writer.stats.feature_count == 0:
                raise IngestError(
                    f"{self.source.path.name}: every geometry is empty; nothing to publish"
                )
            self.writer.finish(set(self.repairs.geometry_types))

    def _new_writer(self, first: Batch) -> VersionWriter:
        return VersionWriter(
            self.conn,
            self.meta.id,
            describe_fields(first.table.schema),
            self.target_type,
            STORAGE_SRID,
            expect_new=self.options.expect_new,
        )

    def _write_batch(self, batch: Batch) -> None:
        self.features_in += len(batch)
        self.scope.add(batch.table)
        keep = ~empty_mask(batch.geoms)
        self.repairs.dropped_empty += int((~keep).sum())
        batch = batch.filter(keep)
        geoms = self.understanding.to_storage(batch.geoms)
        geoms = repair(
            geoms, self.repairs, keep_z=self.options.keep_z, z_column=self.target_type.endswith("Z")
        )
        # Untouched geometries go to PostGIS as the source WKB, never re-encoded.
        hexed = wkb_hex(batch.wkb if geoms is batch.geoms else shapely.to_wkb(geoms))
        type_ids = shapely.get_type_id(geoms)
        promote = promotion_mask(type_ids, self.target_type)
        if promote.any():
            self.repairs.promoted_to_multi += int(promote.sum())
            hexed = promote_hex(hexed, np.where(promote, type_ids, -1), shapely.has_z(geoms))
        self.repairs.geometry_types |= stored_type_names(type_ids, promote)
        self.writer.write(batch.table, hexed, geoms)
        if self.options.progress:
            self.options.progress(self.features_in, self.source.feature_count)

    def result(self) -> IngestResult:
        return IngestResult(
            self.meta.id,
            0,
            "vector",
            self.features_in,
            self.writer.stats.feature_count,
            repairs=self.repairs.to_json(),
            warnings=list(self.understanding.warnings),
            detected=self.understanding.detected,
        )
