"""Streaming one vector source into a new version table (``VectorLoad``), again with a
column kept as text when its first features typed it as dates and later ones are not."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace

import numpy as np
import psycopg
import pyarrow as pa
import shapely
from numpy.typing import NDArray

from ingest.copybinary import supports as binary_copy_supports
from ingest.datetimes import UNTYPED_FORMATS, TextAfterAll
from ingest.deferred_check import DeferredCheck
from ingest.feature_ids import FeatureIds
from ingest.geometry import (
    RepairCounts,
    empty_mask,
    promotion_mask,
    repair,
    stored_type_names,
    target_geometry_type,
)
from ingest.infer import AdminScope
from ingest.options import IngestOptions, IngestResult
from ingest.publish import GeometryColumn, LayerMeta, VersionWriter
from ingest.schema import describe_fields
from ingest.source import Batch, BatchStream, Prefetched
from ingest.temporal import LayerTime, ambiguity_warning
from ingest.understand import Understanding
from ingest.wkb_header import WkbHeaders
from layers.errors import IngestError
from layers.platform import STORAGE_SRID

log = logging.getLogger("onemap.ingest")


def load_vector(
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
            self.writer.finish(
                set(self.repairs.geometry_types), self._apply_deferred_check, self._single_type()
            )
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
        # Binary COPY cannot say a timestamp without a time zone; ``LayerTime.plan`` has
        # typed every date-time column as UTC, so none reaches the writer.
        if not binary_copy_supports(attributes):
            raise RuntimeError(f"{self.meta.id}: a naive timestamp column reached the writer")
        return VersionWriter(
            self.conn,
            self.meta.id,
            describe_fields(attributes),
            self.target_type,
            STORAGE_SRID,
            ids=self.ids,
            expect_new=self.options.expect_new,
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

    def _single_type(self) -> str | None:
        """With ``single_parts``, the single type a multi column may narrow to (the writer
        narrows it if no feature has several parts; ADR 0013, decision 14)."""
        if not self.options.single_parts or not self.target_type.startswith("Multi"):
            return None
        return self.target_type.removeprefix("Multi")

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
