"""Open a vector source and read it in bounded batches (memory stays flat)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
from pyproj import CRS

from layers.errors import IngestError

BATCH_SIZE = 50_000


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


def read_batches(source: VectorSource, batch_size: int = BATCH_SIZE) -> Iterator[gpd.GeoDataFrame]:
    """Yield the features ``batch_size`` at a time, in source order."""
    for offset in range(0, max(source.feature_count, 1), batch_size):
        try:
            frame = pyogrio.read_dataframe(
                source.path,
                layer=source.layer,
                encoding=source.encoding,
                skip_features=offset,
                max_features=batch_size,
                **source.open_options,
            )
        except Exception as exc:
            raise IngestError(
                f"{source.path.name}: reading features {offset}..{offset + batch_size} failed "
                f"({exc}); the file may be truncated or corrupt"
            ) from exc
        if len(frame) == 0:
            return
        yield frame


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
