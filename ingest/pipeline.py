"""The ingest pipeline: one path for the CLI, the upload endpoint and the sample data.

Every run is recorded (``onemap.ingest_runs``); a published version is swapped in
atomically (see ``ingest.publish``); a failure leaves the published layer as it was.
"""

from __future__ import annotations

import getpass
import hashlib
import itertools
import json
import logging
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import shapely
from numpy.typing import NDArray

from ingest.archives import ArchiveLimits
from ingest.copybinary import supports as binary_copy_supports
from ingest.datetimes import UNTYPED_FORMATS, TextAfterAll
from ingest.deferred_check import DeferredCheck
from ingest.digest import file_sha256
from ingest.feature_ids import FeatureIds
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
from ingest.publish import GeometryColumn, LayerMeta, VersionWriter, publish_version
from ingest.schema import describe_fields
from ingest.source import Batch, BatchStream, Prefetched
from ingest.temporal import LayerTime, ambiguity_warning
from ingest.understand import Understanding, understand_vector
from ingest.wkb_header import WkbHeaders
from ingest.workdirs import work_dir
from layers.db import connect
from layers.errors import IngestError, OneMapError
from layers.platform import STORAGE_SRID
from layers.rollup import refresh_rollups_for_layer

log = logging.getLogger("onemap.ingest")
_FINGERPRINT_VERSION = resources.files("ingest") / "sql" / "fingerprint_version.sql"

__all__ = ["IngestOptions", "IngestResult", "LayerMeta", "ingest_file"]


def ingest_file(
    database_url: str, path: Path, meta: LayerMeta, options: IngestOptions | None = None
) -> IngestResult:
    """Read, check, clean and publish ``path`` as a new version of ``meta.id``."""
    options = options or IngestOptions()
    record = _start_record(path, meta, options)
    with connect(database_url, autocommit=True) as conn:
        try:
            result = _run(conn, database_url, path, meta, options, record)
        except OneMapError as exc:
            record.error = exc.message
            record.stop_clock()
            record_run(conn, database_url, record)
            raise
        record.absorb(result)
        result.seconds = record.stop_clock()
        record_run(conn, database_url, record)
    log.info(result.summary())
    return result


def _start_record(path: Path, meta: LayerMeta, options: IngestOptions) -> RunRecord:
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    sha256, size = file_sha256(path)
    # The time options (and the time handling itself) change what a file loads as: an
    # upgrade's first re-publication of a file makes a new, time-enabled version.
    read_as = [options.source_layer, options.source_crs, options.encoding, options.keep_z]
    read_as.append(repr(options.time))
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
    conn: psycopg.Connection,
    database_url: str,
    path: Path,
    meta: LayerMeta,
    options: IngestOptions,
    record: RunRecord,
) -> IngestResult:
    unchanged = published_version_with_fingerprint(conn, meta.id, record.fingerprint)
    if unchanged is not None:
        return IngestResult(meta.id, unchanged, skipped=True)
    with work_dir(options.work_root, "ingest") as work:
        limits = ArchiveLimits(max_upload_mb=options.max_upload_mb)
        prepared = prepare_source(path, work, options.source_layer, options.encoding, limits)
        if prepared.kind == "raster":
            with conn.transaction():
                return _publish_raster(conn, prepared, meta, options, record)
        return _publish_vector(conn, database_url, prepared, meta, options, record)


def published_version_with_fingerprint(
    conn: psycopg.Connection, layer_id: str, fingerprint: str
) -> int | None:
    row = conn.execute(
        _FINGERPRINT_VERSION.read_bytes(), {"layer": layer_id, "fingerprint": fingerprint}
    ).fetchone()
    return int(row[0]) if row else None


def _publish_vector(
    conn: psycopg.Connection,
    database_url: str,
    prepared: PreparedSource,
    meta: LayerMeta,
    options: IngestOptions,
    record: RunRecord,
) -> IngestResult:
    understanding = understand_vector(prepared, options)
    expected = understanding.source.feature_count
    ids = FeatureIds.reserve(conn, database_url, expected)  # before the transaction
    with conn.transaction():
        load = _load(conn, understanding, meta, options, ids)
        complete_meta(meta, load.scope, load.understanding.warnings)
        result = load.result()
        record.absorb(result)
        record.stop_clock()
        result.version = publish_version(
            load.writer,
            meta,
            source=(record.source_sha256, record.fingerprint),
            lineage=record.as_lineage(),
            temporal=load.time,
        )
        result.rollups = refresh_rollups_for_layer(conn, meta.id)
    return result


def _load(
    conn: psycopg.Connection,
    understanding: Understanding,
    meta: LayerMeta,
    options: IngestOptions,
    ids: FeatureIds,
) -> VectorLoad:
    """Run the load; again, keeping the column as text, when a column typed from its
    first features turns out not to hold only dates (a savepoint undoes the first try)."""
    keep_text: frozenset[str] = frozenset()
    while True:
        load = VectorLoad(conn, understanding, meta, options, ids, keep_text)
        try:
            with conn.transaction():
                load.run()
            return load
        except TextAfterAll as exc:
            keep_text |= {exc.column}
            understanding.warnings.append(exc.message)


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
    """Streams one source into a new version table, batch by batch.

    When the source needs no reprojection and its WKB is plain 2D, geometries are not
    parsed on the way in: their headers are enough to drop empties and promote to
    multi, and ``DeferredCheck`` validates them while the indexes are built.
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        understanding: Understanding,
        meta: LayerMeta,
        options: IngestOptions,
        ids: FeatureIds,
        keep_text: frozenset[str] = frozenset(),
    ) -> None:
        self.conn, self.meta, self.options, self.ids = conn, meta, options, ids
        self.understanding = understanding
        self.source = understanding.source
        self.target_type = target_geometry_type(self.source.declared_type, options.keep_z)
        self.repairs = RepairCounts()
        self.features_in = 0
        self.scope = AdminScope()
        self._writer: VersionWriter | None = None
        self.deferred = DeferredCheck(self.source, options.batch_rows)
        untyped = self.source.path.suffix.lower() in UNTYPED_FORMATS
        self.time = LayerTime(options.time, untyped_format=untyped, keep_text=keep_text)

    @property
    def writer(self) -> VersionWriter:
        if self._writer is None:
            raise IngestError(f"{self.source.path.name}: nothing was read")
        return self._writer

    @property
    def may_defer_parsing(self) -> bool:
        """Coordinates go in as they are, into a typed 2D column."""
        plain_column = not self.target_type.startswith("Geometry")
        return self.understanding.identity and plain_column and not self.target_type.endswith("Z")

    def run(self) -> None:
        with ExitStack() as stack:  # on an error the open COPY is failed before rollback
            unparsed = self.may_defer_parsing
            stream = stack.enter_context(
                BatchStream(self.source, self.options.batch_rows, parse=not unparsed)
            )
            self.time.start(stream.attribute_schema)
            # The first batch is read while the table is created, unless the reader
            # thread parses geometries: from_wkb holds the GIL the prologue needs; or
            # unless that batch decides which text columns hold dates.
            early = unparsed or self.time.needs_first_batch
            batches = stack.enter_context(Prefetched(stream)) if early else None
            first = None
            if batches is not None and self.time.needs_first_batch:
                first = next(batches, None)
                batches = itertools.chain([first] if first else [], batches)
            schema = self.time.plan(stream.attribute_schema, first.table if first else None)
            self._writer = stack.enter_context(self._new_writer(schema))
            if batches is None:
                batches = stack.enter_context(Prefetched(stream))
            with self._rejections_named():
                for batch in batches:
                    self._write_batch(batch)
                self.writer.end_copy()
            self._require_features()
            stack.callback(self.deferred.cancel)  # if indexing fails, stop checking
            self.deferred.start()
            self.writer.finish(set(self.repairs.geometry_types), self._apply_deferred_check)
            self.time.finish(self.conn, self.writer.table, self.writer.fields)

    @contextmanager
    def _rejections_named(self) -> Iterator[None]:
        """A feature PostgreSQL refuses (a ring of three points, text that is not UTF-8)
        fails the ingest with a message naming the file and the feature, as a GEOS parse
        failure does on the parsed path."""
        try:
            yield
        except (psycopg.DataError, psycopg.InternalError) as exc:
            found = re.search(r"line (\d+), column (\w+)", exc.diag.context or "")
            where = f" (feature {found[1]} as loaded, column {found[2]})" if found else ""
            raise IngestError(
                f"{self.source.path.name}: PostgreSQL rejected a feature{where}: "
                f"{exc.diag.message_primary or exc}; the file may be corrupt"
            ) from exc

    def _new_writer(self, attributes: pa.Schema) -> VersionWriter:
        return VersionWriter(
            self.conn,
            self.meta.id,
            describe_fields(attributes),
            self.target_type,
            STORAGE_SRID,
            ids=self.ids,
            expect_new=self.options.expect_new,
            binary=binary_copy_supports(attributes),
        )

    def _require_features(self) -> None:
        if self.writer.stats.feature_count == 0:
            raise IngestError(
                f"{self.source.path.name}: every geometry is empty; nothing to publish"
            )

    def _write_batch(self, batch: Batch) -> None:
        first_row = self.features_in
        batch = replace(batch, table=self.time.apply(batch.table, first_row))
        self.features_in += len(batch)
        self.scope.add(batch.table)
        if batch.headers is None:
            table, geometry = self._parsed_rows(batch)
        else:
            table, geometry = self._unparsed_rows(batch, batch.headers)
        first_fid = self.writer.write(table, geometry)
        if batch.headers is not None:
            self.deferred.add_rows(first_row, self.features_in, first_fid)
        if self.options.progress:
            self.options.progress(self.features_in, self.source.feature_count)

    def _parsed_rows(self, batch: Batch) -> tuple[pa.RecordBatch, GeometryColumn]:
        keep = ~empty_mask(batch.parsed())
        self.repairs.dropped_empty += int((~keep).sum())
        batch = batch.filter(keep)
        geoms = self.understanding.to_storage(batch.parsed())
        geoms = repair(
            geoms, self.repairs, keep_z=self.options.keep_z, z_column=self.target_type.endswith("Z")
        )
        # Untouched geometries go to PostGIS as the source WKB, never re-encoded.
        wkb = batch.wkb if geoms is batch.geoms else pa.array(shapely.to_wkb(geoms), pa.binary())
        self.writer.stats.add_bounds(geoms)
        type_ids = shapely.get_type_id(geoms)
        return batch.table, self._geometry_column(wkb, type_ids, shapely.has_z(geoms))

    def _unparsed_rows(
        self, batch: Batch, headers: WkbHeaders
    ) -> tuple[pa.RecordBatch, GeometryColumn]:
        self.repairs.dropped_empty += int(headers.empty.sum())
        batch = batch.filter(~headers.empty)
        type_ids = headers.type_ids[~headers.empty]
        return batch.table, self._geometry_column(batch.wkb, type_ids, None)

    def _geometry_column(
        self, wkb: pa.Array, type_ids: NDArray[np.int32], has_z: NDArray[np.bool_] | None
    ) -> GeometryColumn:
        promote = promotion_mask(type_ids, self.target_type)
        self.repairs.promoted_to_multi += int(promote.sum())
        self.repairs.geometry_types |= stored_type_names(type_ids, promote)
        return wkb, np.where(promote, type_ids, -1), has_z

    def _apply_deferred_check(self) -> None:
        checked = self.deferred.result()
        self.repairs.made_valid += checked.made_valid
        self.repairs.dropped_empty += checked.dropped_empty
        self.writer.stats.merge_bounds(checked.bounds)
        if checked.fixes is not None:
            with checked.fixes:
                self.writer.apply_fixes(checked.fixes)
            self._require_features()

    def result(self) -> IngestResult:
        warnings = list(self.understanding.warnings)
        detected = self.understanding.detected
        if (temporal := self.time.report()) is not None:
            detected["temporal"] = temporal
        if self.time.choice and (ambiguous := ambiguity_warning(self.time.choice)):
            warnings.append(ambiguous)
        return IngestResult(
            self.meta.id,
            0,
            "vector",
            self.features_in,
            self.writer.stats.feature_count,
            repairs=self.repairs.to_json(),
            warnings=warnings,
            detected=detected,
        )
