"""Raster ingest: a GeoTIFF becomes a Cloud-Optimised GeoTIFF in EPSG:4490, registered as a layer.

The COG is written under the raster directory (shared storage when replicas run) with a
temporary name and renamed into place before the catalog transaction commits, so a
reader never finds a half-written file behind a published version.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rasterio
from rasterio.crs import CRS as RioCRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.shutil import copy as rio_copy
from rasterio.vrt import WarpedVRT

from layers.errors import IngestError
from layers.platform import STORAGE_SRID

COG_OPTIONS = {"COMPRESS": "DEFLATE", "PREDICTOR": "YES", "BLOCKSIZE": "512", "OVERVIEWS": "AUTO"}


@dataclass(frozen=True)
class RasterInfo:
    """What the catalog records of a raster version."""

    width: int
    height: int
    count: int
    dtype: str
    nodata: float | None
    bounds: tuple[float, float, float, float]
    resolution: tuple[float, float]
    source_crs: str
    band_names: tuple[str, ...]

    def metadata(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "bands": self.count,
            "dtype": self.dtype,
            "nodata": _json_number(self.nodata),
            "resolution": list(self.resolution),
            "source_crs": self.source_crs,
        }


def _json_number(value: float | None) -> float | str | None:
    """NaN nodata (analysis outputs) as the text GDAL uses: JSON has no NaN."""
    return value if value is None or math.isfinite(value) else str(value)


def write_cog(source: Path, target: Path, source_crs: str | None = None) -> RasterInfo:
    """Convert ``source`` to a COG at ``target`` in EPSG:4490 (warped only if needed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        with rasterio.open(source) as src:
            crs = RioCRS.from_user_input(source_crs) if source_crs else src.crs
            if crs is None:
                raise IngestError(
                    f"{source.name}: the raster has no CRS; pass --source-crs EPSG:xxxx"
                )
            _write(src, crs, partial)
        os.replace(partial, target)
        return describe(target, crs.to_string())
    except RasterioError as exc:
        raise IngestError(f"{source.name}: cannot be read as a raster ({exc})") from exc
    finally:
        partial.unlink(missing_ok=True)


def _write(src: Any, crs: RioCRS, partial: Path) -> None:
    # WGS 84 → CGCS2000 is a sub-metre null shift, so the grid is only relabelled
    # (nearest keeps the values exact); a real reprojection resamples bilinearly.
    storage = RioCRS.from_epsg(STORAGE_SRID)
    grid: dict[str, Any] = {"resampling": Resampling.bilinear}
    if crs.to_epsg() in (4326, STORAGE_SRID):
        grid = {
            "resampling": Resampling.nearest,
            "transform": src.transform,
            "width": src.width,
            "height": src.height,
        }
    with WarpedVRT(src, crs=storage, src_crs=crs, **grid) as vrt:
        rio_copy(vrt, partial, driver="COG", **COG_OPTIONS)


def describe(path: Path, source_crs: str) -> RasterInfo:
    with rasterio.open(path) as ds:
        names = tuple(ds.descriptions[i] or f"band_{i + 1}" for i in range(ds.count))
        b = ds.bounds
        return RasterInfo(
            width=ds.width,
            height=ds.height,
            count=ds.count,
            dtype=ds.dtypes[0],
            nodata=ds.nodata,
            bounds=(b.left, b.bottom, b.right, b.top),
            resolution=(abs(ds.res[0]), abs(ds.res[1])),
            source_crs=source_crs,
            band_names=names,
        )


def is_cog(path: Path) -> bool:
    with rasterio.open(path) as ds:
        return bool(ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG")
