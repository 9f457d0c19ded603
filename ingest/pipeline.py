"""The vector ingest pipeline: one path for the CLI, the upload endpoint and the sample data."""

from __future__ import annotations

import getpass
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from pyproj import CRS

from ingest.geometry import RepairCounts, clean, empty_mask, reproject, target_geometry_type
from ingest.geometry import transformer_to as make_transformer
from ingest.publish import LayerMeta, VersionWriter, publish_version
from ingest.schema import describe_fields
from ingest.source import VectorSource, file_sha256, open_vector, read_batches
from layers.db import connect
from layers.errors import IngestError

STORAGE_SRID = 4490  # CGCS2000, the platform's legal datum (docs/adr/0002-storage-crs.md)
log = logging.getLogger("onemap.ingest")

Progress = Callable[[int, int], None]  # (features done, features expected)


@dataclass
class IngestOptions:
    source_layer: str | None = None
    encoding: str | None = None
    source_crs: str | None = None
    keep_z: bool = False
    expect_new: bool | None = None  # True: must not exist; False: must exist; None: either
    who: str | None = None
    progress: Progress | None = None


@dataclass
class IngestResult:
    layer_id: str
    version: int
    features_in: int = 0
    features_out: int = 0
    skipped: bool = False
    repairs: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        if self.skipped:
            return (
                f"{self.layer_id}: identical to version {self.version} already published; "
                "nothing to do"
            )
        return (
            f"{self.layer_id}: published version {self.version} "
            f"({self.features_out} of {self.features_in} features) in {self.seconds:.1f}s"
        )


def ingest_vector(
    database_url: str, path: Path, meta: LayerMeta, options: IngestOptions | None = None
) -> IngestResult:
    """Read, clean and publish ``path`` as a new version of ``meta.id``."""
    options = options or IngestOptions()
    started = time.monotonic()
    sha256, size = file_sha256(path)
    with connect(database_url, autocommit=True) as conn:
        unchanged = published_version_with_sha(conn, meta.id, sha256)
        if unchanged is not None:
            return IngestResult(meta.id, unchanged, skipped=True)
        source = open_vector(path, options.source_layer, options.encoding)
        with conn.transaction():
            load = VectorLoad(conn, source, meta, options)
            load.run()
            result = load.result()
            result.seconds = time.monotonic() - started
            lineage = load.lineage() | {
                "source": path.name,
                "size": size,
                "sha256": sha256,
                "who": options.who or getpass.getuser(),
                "at": datetime.now(UTC).isoformat(),
                "duration_s": round(result.seconds, 3),
            }
            result.version = publish_version(
                load.writer, meta, source_sha256=sha256, lineage=lineage
            )
    log.info(result.summary())
    return result


def published_version_with_sha(conn: psycopg.Connection, layer_id: str, sha256: str) -> int | None:
    row = conn.execute(
        "SELECT v.version FROM onemap.layers l JOIN onemap.layer_versions v "
        "ON v.layer_id = l.id AND v.version = l.current_version "
        "WHERE l.id = %s AND v.source_sha256 = %s",
        (layer_id, sha256),
    ).fetchone()
    return int(row[0]) if row else None


class VectorLoad:
    """Streams one source into a new version table, batch by batch."""

    def __init__(
        self,
        conn: psycopg.Connection,
        source: VectorSource,
        meta: LayerMeta,
        options: IngestOptions,
    ) -> None:
        if source.feature_count == 0:
            raise IngestError(f"{source.path.name}: layer '{source.layer}' has no features")
        self.conn, self.source, self.meta, self.options = conn, source, meta, options
        self.source_crs = self._source_crs()
        self.transformer = make_transformer(self.source_crs, STORAGE_SRID)
        self.target_type = target_geometry_type(source.declared_type)
        self.repairs = RepairCounts()
        self.features_in = 0
        self.warnings: list[str] = []
        self._writer: VersionWriter | None = None

    @property
    def writer(self) -> VersionWriter:
        if self._writer is None:
            raise IngestError(f"{self.source.path.name}: nothing was read")
        return self._writer

    def _source_crs(self) -> CRS:
        if self.options.source_crs:
            return CRS.from_user_input(self.options.source_crs)
        if self.source.declared_crs is None:
            raise IngestError(
                f"{self.source.path.name}: no coordinate reference system is declared; "
                "pass --source-crs EPSG:xxxx"
            )
        return self.source.declared_crs

    def run(self) -> None:
        for frame in read_batches(self.source):
            if self._writer is None:
                self._writer = VersionWriter(
                    self.conn,
                    self.meta.id,
                    describe_fields(frame),
                    self.target_type,
                    STORAGE_SRID,
                    expect_new=self.options.expect_new,
                )
            self._write_batch(frame)
        if self.writer.stats.feature_count == 0:
            raise IngestError(
                f"{self.source.path.name}: every geometry is empty; nothing to publish"
            )
        self.writer.finish()

    def _write_batch(self, frame: Any) -> None:
        self.features_in += len(frame)
        geoms = reproject(frame.geometry.values._data.copy(), self.transformer)
        keep = ~empty_mask(geoms)
        self.repairs.dropped_empty += int((~keep).sum())
        geoms = clean(geoms[keep], self.repairs, self.target_type, keep_z=self.options.keep_z)
        self.writer.write(frame[keep], geoms)
        if self.options.progress:
            self.options.progress(self.features_in, self.source.feature_count)

    def result(self) -> IngestResult:
        return IngestResult(
            self.meta.id,
            0,
            self.features_in,
            self.writer.stats.feature_count,
            repairs=self.repairs.to_json(),
            warnings=self.warnings,
        )

    def lineage(self) -> dict[str, Any]:
        return {
            "source_layer": self.source.layer,
            "encoding": self.source.encoding,
            "source_crs": self.source_crs.to_string(),
            "transformation": "none" if self.transformer is None else self.transformer.description,
            "features_in": self.features_in,
            "features_out": self.writer.stats.feature_count,
            "repairs": self.repairs.to_json(),
            "warnings": self.warnings,
        }
