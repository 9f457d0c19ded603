"""What an analysis returns: features, rasters and plain values, with lineage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS


@dataclass(frozen=True)
class Raster:
    """One band and its georeferencing; ``nodata`` cells are NaN for float rasters."""

    data: NDArray[np.floating[Any]]
    transform: Affine
    crs: CRS
    nodata: float = float("nan")

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.data.shape[0]), int(self.data.shape[1]))

    def to_geotiff(self) -> bytes:
        from rasterio.io import MemoryFile

        profile = {
            "driver": "GTiff",
            "height": self.shape[0],
            "width": self.shape[1],
            "count": 1,
            "dtype": "float32",
            "crs": self.crs.to_wkt(),
            "transform": self.transform,
            "nodata": self.nodata,
            "compress": "deflate",
            "tiled": True,
            "blockxsize": 256,
            "blockysize": 256,
        }
        with MemoryFile() as memfile:
            with memfile.open(**profile) as dataset:
                dataset.write(self.data.astype("float32"), 1)
            data: bytes = memfile.read()
        return data


@dataclass
class AnalysisResult:
    """Named outputs: GeoDataFrames (GeoJSON), Rasters (GeoTIFF), JSON values and HTML pages."""

    features: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    rasters: dict[str, Raster] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)  # HTML documents (reports)
    lineage: list[dict[str, object]] = field(default_factory=list)

    def output_ids(self) -> list[str]:
        return [*self.features, *self.rasters, *self.values, *self.pages]
