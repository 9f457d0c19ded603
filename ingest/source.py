"""Open a vector source and read it in bounded batches (memory stays flat)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue
from threading import Event, Thread
from typing import Any

import numpy as np
import pyarrow as pa
import pyogrio
import pyogrio.raw
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from ingest.wkb_header import WkbHeaders, read_headers
from layers.errors import IngestError

BATCH_SIZE = 16_384


@dataclass(frozen=True)
class VectorSource:
    """What a file says about itself before any feature is read."""

    path: Path
    layer: str
    declared_crs: CRS | None
    declared_type: str | None
    feature_count: int
    encoding: str | None
    bounds: tuple[float, float, float, float] | None
    open_options: dict[str, str] = field(default_factory=dict)


def list_layers(path: Path) -> list[str]:
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise IngestError(f"{path.name}: cannot be opened as vector data ({exc})") from exc


def open_vector(
    path: Path,
    layer: str | None = None,
    encoding: str | None = None,
    open_options: dict[str, str] | None = None,
) -> VectorSource:
    names = list_layers(path)
    chosen = _choose_layer(path, names, layer)
    options = open_options or {}
    try:
        info = pyogrio.read_info(
            path, layer=chosen, encoding=encoding, force_total_bounds=True, **options
        )
    except Exception as exc:
        raise IngestError(f"{path.name}: layer '{chosen}' cannot be read ({exc})") from exc
    return VectorSource(
        path=path,
        layer=chosen,
        declared_crs=CRS.from_user_input(info["crs"]) if info.get("crs") else None,
        declared_type=info.get("geometry_type"),
        feature_count=int(info.get("features") or 0),
        encoding=encoding or info.get("encoding"),
        bounds=_bounds(info.get("total_bounds")),
        open_options=options,
    )


def _choose_layer(path: Path, names: list[str], layer: str | None) -> str:
    if layer is not None:
        if layer not in names:
            raise IngestError(f"{path.name}: no layer '{layer}'; it has: {', '.join(names)}")
        return layer
    if len(names) == 1:
        return names[0]
    if not names:
        raise IngestError(f"{path.name}: contains no vector layer")
    raise IngestError(
        f"{path.name} has {len(names)} layers ({', '.join(names)}); choose one with --source-layer"
    )


def _bounds(values: Any) -> tuple[float, float, float, float] | None:
    if values is None or len(values) != 4:
        return None
    return (float(values[0]), float(values[1]), float(values[2]), float(values[3]))


@dataclass(frozen=True)
class Batch:
    """Attributes (Arrow) and source WKB of consecutive features, with either the
    parsed geometries or, for plain WKB left unparsed, what its headers say."""

    table: pa.RecordBatch
    wkb: pa.Array
    geoms: NDArray[np.object_] | None = None
    headers: WkbHeaders | None = None

    def filter(self, keep: NDArray[np.bool_]) -> Batch:
        if keep.all():
            return self
        mask = pa.array(keep)
        geoms = None if self.geoms is None else self.geoms[keep]
        headers = None if self.headers is None else self.headers.filter(keep)
        return Batch(self.table.filter(mask), self.wkb.filter(mask), geoms, headers)

    def parsed(self) -> NDArray[np.object_]:
        if self.geoms is None:
            raise ValueError("this batch's geometries were left unparsed")
        return self.geoms

    def __len__(self) -> int:
        return len(self.wkb)


class BatchStream:
    """An open reader over one layer: its attribute schema first, then its batches.

    The schema is known before any feature is read, so the version table can be
    created while the first batch is read.
    """

    def __init__(
        self, source: VectorSource, batch_size: int = BATCH_SIZE, *, parse: bool = True
    ) -> None:
        self.source, self.parse = source, parse
        self._stack = ExitStack()
        try:
            meta, self._reader = self._stack.enter_context(
                pyogrio.raw.open_arrow(
                    source.path,
                    layer=source.layer,
                    encoding=source.encoding,
                    batch_size=batch_size,
                    use_pyarrow=True,
                    datetime_as_string=True,  # typed by ingest.datetimes, offsets kept
                    **source.open_options,
                )
            )
        except Exception as exc:
            raise self._failure(exc) from exc
        schema: pa.Schema = self._reader.schema
        name = meta.get("geometry_name") or "wkb_geometry"
        self._geometry_index = schema.get_field_index(name)
        if self._geometry_index < 0:
            self._geometry_index = len(schema) - 1
        self.attribute_schema = schema.remove(self._geometry_index)

    def __enter__(self) -> BatchStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def __iter__(self) -> Iterator[Batch]:
        try:
            for record_batch in self._reader:
                yield _to_batch(record_batch, self._geometry_index, self.parse)
        except Exception as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: Exception) -> IngestError:
        return IngestError(
            f"{self.source.path.name}: reading features failed ({exc}); "
            "the file may be truncated or corrupt"
        )


def _to_batch(record_batch: pa.RecordBatch, geometry_index: int, parse: bool) -> Batch:
    """With ``parse`` off, plain 2D WKB stays unparsed (``shapely.from_wkb`` holds the GIL)."""
    wkb = record_batch.column(geometry_index)
    attributes = record_batch.drop_columns([record_batch.schema.names[geometry_index]])
    headers = None if parse else read_headers(wkb)
    if headers is not None:
        return Batch(attributes, wkb, headers=headers)
    return Batch(attributes, wkb, shapely.from_wkb(wkb.to_numpy(zero_copy_only=False)))


class Prefetched:
    """Read the next batches in a thread while the current one is cleaned and copied.

    GDAL, Arrow and most of shapely release the GIL, so reading overlaps with writing.
    Leaving the block stops the thread before the reader it uses is closed.
    """

    def __init__(self, batches: Iterable[Batch], depth: int = 2) -> None:
        self._queue: Queue[Batch | BaseException | None] = Queue(maxsize=depth)
        self._stop = Event()
        self._thread = Thread(target=self._produce, args=(batches,), name="ingest-reader")
        self._thread.start()

    def _produce(self, batches: Iterable[Batch]) -> None:
        try:
            for batch in batches:
                if self._stop.is_set():
                    return
                self._queue.put(batch)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._queue.put(exc)
        else:
            self._queue.put(None)

    def __enter__(self) -> Iterator[Batch]:
        return self._consume()

    def _consume(self) -> Iterator[Batch]:
        while (item := self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a producer waiting on a full queue
            with suppress(Empty):
                self._queue.get(timeout=0.01)
        self._thread.join()
