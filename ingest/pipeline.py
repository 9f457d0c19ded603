"""The ingest pipeline: one path for the CLI, the upload endpoint and the sample data.

Every run is recorded (``onemap.ingest_runs``); a published version is swapped in
atomically (see ``ingest.publish``); a failure leaves the published layer as it was.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import psycopg

from ingest.archives import ArchiveLimits
from ingest.digest import file_sha256
from ingest.feature_ids import FeatureIds
from ingest.formats import PreparedSource, prepare_source
from ingest.infer import AdminScope
from ingest.lineage import RunRecord, record_run
from ingest.options import IngestOptions, IngestResult
from ingest.publish import LayerMeta, publish_version
from ingest.understand import understand_vector
from ingest.vector_load import load_vector
from ingest.workdirs import work_dir
from layers.access.audit import write_event_sync
from layers.db import connect
from layers.errors import IngestError, OneMapError
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
    if options.single_parts:  # absent otherwise: earlier fingerprints stay valid
        read_as.append("single-parts")
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
    if unchanged is not None:  # nothing is written: the audit row is the run's only write
        audit_ingest(conn, options, meta.id, unchanged, unchanged=True)
        return IngestResult(meta.id, unchanged, skipped=True)
    with work_dir(options.work_root, "ingest") as work:
        limits = ArchiveLimits(max_upload_mb=options.max_upload_mb)
        prepared = prepare_source(path, work, options.source_layer, options.encoding, limits)
        if prepared.kind == "raster":
            with conn.transaction():
                raster = _publish_raster(conn, prepared, meta, options, record)
                audit_ingest(conn, options, meta.id, raster.version)
                return raster
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
        load = load_vector(conn, understanding, meta, options, ids)
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
        audit_ingest(conn, options, meta.id, result.version)
    return result


def audit_ingest(
    conn: psycopg.Connection,
    options: IngestOptions,
    layer_id: str,
    version: int,
    *,
    unchanged: bool = False,
) -> None:
    """The run's audit row (``options.audit``), on ``conn``: inside the publishing transaction,
    so the version and its record commit — or roll back — together."""
    if options.audit is None:
        return
    detail = dict(options.audit.detail) | {"unchanged": unchanged}
    event = replace(options.audit, layer_id=layer_id, version=version, detail=detail)
    write_event_sync(conn, event)


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
