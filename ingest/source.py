"""Open a vector source and read it in bounded batches (memory stays flat)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue
from threading import Thread
from typing import Any

import numpy as np
import pyarrow as pa
import pyogrio
import pyogrio.raw
import shapely
from numpy.typing import NDArray
from pyproj import CRS

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
    """Attributes (Arrow), source WKB and geometries of consecutive features."""

    table: pa.RecordBatch
    wkb: pa.Array
    geoms: NDArray[np.object_]

    def filter(self, keep: NDArray[np.bool_]) -> Batch:
        if keep.all():
            return self
        mask = pa.array(keep)
        return Batch(self.table.filter(mask), self.wkb.filter(mask), self.geoms[keep])

    def __len__(self) -> int:
        return len(self.geoms)


def read_batches(source: VectorSource, batch_size: int = BATCH_SIZE) -> Iterator[Batch]:
    """Stream the features ``batch_size`` at a time through GDAL's Arrow interface.

    One reader over the whole file (no re-opening per batch), so memory stays at a
    batch or two whatever the file size.
    """
    try:
        with pyogrio.raw.open_arrow(
            source.path,
            layer=source.layer,
            encoding=source.encoding,
            batch_size=batch_size,
            use_pyarrow=True,
            **source.open_options,
        ) as (meta, reader):
            geometry_name = meta.get("geometry_name") or "wkb_geometry"
            for record_batch in reader:
                yield _to_batch(record_batch, geometry_name)
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError(
            f"{source.path.name}: reading features failed ({exc}); "
            "the file may be truncated or corrupt"
        ) from exc


def _to_batch(record_batch: pa.RecordBatch, geometry_name: str) -> Batch:
    names = record_batch.schema.names
    geometry_index = names.index(geometry_name) if geometry_name in names else len(names) - 1
    wkb = record_batch.column(geometry_index)
    attributes = record_batch.drop_columns([names[geometry_index]])
    return Batch(attributes, wkb, shapely.from_wkb(wkb.to_numpy(zero_copy_only=False)))


def prefetched(batches: Iterator[Batch], depth: int = 2) -> Iterator[Batch]:
    """Read the next batches in a thread while the current one is cleaned and copied.

    GDAL, Arrow and shapely release the GIL, so reading overlaps with writing.
    """
    queue: Queue[Batch | BaseException | None] = Queue(maxsize=depth)

    def produce() -> None:
        try:
            for batch in batches:
                queue.put(batch)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put(exc)
        else:
            queue.put(None)

    Thread(target=produce, name="ingest-reader", daemon=True).start()
    while (item := queue.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item


def file_sha256(path: Path) -> tuple[str, int]:
    """The sha256 and size of a file, of a shapefile's file set, or of a FileGDB folder."""
    digest = hashlib.sha256()
    size = 0
    for part in _companion_files(path):
        with part.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    return digest.hexdigest(), size


def _companion_files(path: Path) -> list[Path]:
    if path.is_dir():  # a FileGDB folder
        return sorted(p for p in path.rglob("*") if p.is_file())
    if path.suffix.lower() != ".shp":
        return [path]
    return sorted(p for p in path.parent.glob(path.stem + ".*") if p.is_file())
