"""Validate the geometries that went to PostGIS unparsed, while PostgreSQL indexes them.

Rows whose WKB headers were enough to load them (``ingest.wkb_header``) skip GEOS on
the way in. This check re-reads those rows from the file on a thread, parses and
validates them, and hands back what must change, by feature id (geometries to make
valid, collections that are empty after all), and the extent. The changes go to a
temporary file in binary COPY form, so memory stays flat however many there are.

It runs while the server analyses the table and builds its primary key and spatial
index (the client's core is idle then); the changes are applied in the same
transaction, so nothing unvalidated is ever published.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from threading import Event, Thread
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import shapely
from numpy.typing import NDArray

from ingest import copybinary
from ingest.geometry import Bounds, GeometryArray, bounds_of, make_valid, union_bounds
from ingest.source import BatchStream, VectorSource
from ingest.wkb_header import read_headers
from layers.errors import IngestError


@dataclass
class CheckResult:
    """What the check found, and the fixes: binary COPY rows of (fid, repaired WKB),
    a NULL geometry meaning "delete" (None when nothing needs changing)."""

    made_valid: int = 0
    dropped_empty: int = 0
    bounds: Bounds | None = None
    fixes: BinaryIO | None = None

    def add_fixes(self, fids: NDArray[np.int64], wkb: list[bytes | None]) -> None:
        if self.fixes is None:
            # Kept open for the loader, which closes it once applied.
            self.fixes = tempfile.TemporaryFile(prefix="onemap-fixes-")  # noqa: SIM115
            self.fixes.write(copybinary.SIGNATURE)
        column = pa.array(wkb, pa.binary())
        self.fixes.write(
            copybinary.rows([copybinary.id_field(fids), copybinary.bytes_field(column)])
        )

    def close_fixes(self) -> None:
        if self.fixes is not None:
            self.fixes.write(copybinary.TRAILER)
            self.fixes.seek(0)


@dataclass
class _Span:
    """File rows [start, stop) loaded unparsed; the ones kept got fids from ``first_fid`` on."""

    start: int
    stop: int
    first_fid: int
    numbered: int = 0  # kept rows of the span met so far by the check


class DeferredCheck:
    """Collects the rows loaded unparsed, then checks them on a thread."""

    def __init__(self, source: VectorSource, batch_rows: int) -> None:
        self.source, self.batch_rows = source, batch_rows
        self.spans: list[_Span] = []
        self._thread: Thread | None = None
        self._result = CheckResult()
        self._error: BaseException | None = None
        self._cancelled = Event()

    def add_rows(self, start: int, stop: int, first_fid: int) -> None:
        self.spans.append(_Span(start, stop, first_fid))

    def cancel(self) -> None:
        """Stop early (the load failed); a finished check is not affected."""
        self._cancelled.set()

    def start(self) -> None:
        if self.spans:
            self._thread = Thread(target=self._run, name="ingest-check", daemon=True)
            self._thread.start()

    def result(self) -> CheckResult:
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result

    def _run(self) -> None:
        try:
            spans = iter(self.spans)
            span = next(spans, None)
            offset = 0
            with BatchStream(self.source, self.batch_rows) as stream:
                for batch in stream:
                    if self._cancelled.is_set():
                        return
                    end = offset + len(batch)
                    while span is not None and span.start < end:
                        low, high = max(span.start, offset) - offset, min(span.stop, end) - offset
                        if low < high:
                            self._check(batch.wkb[low:high], batch.parsed()[low:high], span)
                        if span.stop > end:
                            break
                        span = next(spans, None)
                    if span is None:
                        break
                    offset = end
            self._result.close_fixes()
        except BaseException as exc:  # re-raised by result(), on the loading thread
            self._error = exc

    def _check(self, wkb: pa.Array, geoms: GeometryArray, span: _Span) -> None:
        headers = read_headers(wkb)
        if headers is None or len(geoms) != len(headers.empty):
            raise IngestError(f"{self.source.path.name}: the file changed while it was loaded")
        kept = ~headers.empty  # empty by their header: dropped while loading, no fid
        fids = span.first_fid + span.numbered + np.arange(int(kept.sum()))
        span.numbered += len(fids)
        geoms = geoms[kept]
        empty = shapely.is_empty(geoms)  # e.g. a multipolygon of one empty polygon
        invalid = ~empty & ~shapely.is_valid(geoms)
        self._grow(geoms[~empty & ~invalid])
        result = self._result
        if empty.any():
            result.dropped_empty += int(empty.sum())
            result.add_fixes(fids[empty], [None] * int(empty.sum()))
        if invalid.any():
            fixed = make_valid(geoms[invalid])
            self._grow(fixed)
            result.made_valid += len(fixed)
            result.add_fixes(fids[invalid], list(shapely.to_wkb(fixed)))

    def _grow(self, geoms: GeometryArray) -> None:
        self._result.bounds = union_bounds(self._result.bounds, bounds_of(geoms))
