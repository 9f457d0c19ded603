"""Pixel coverage of a vector tile against the full-resolution data it was made from.

A pixel of the 256-px tile counts as filled when any of its 4×4 sub-pixel centres lies in
a polygon (what an anti-aliasing renderer visibly tints); both the decoded tile and the
data are rasterised this way, by rasterio, so the two sides follow one rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from affine import Affine
from rasterio.features import rasterize
from rasterio.transform import from_bounds

TILE_PX = 256
SUB = 4  # sub-pixels per pixel and axis
MVT_EXTENT = 4096


def filled(shapes: Iterable[Any], transform: Affine) -> np.ndarray:
    """Filled pixels (bool, TILE_PX²) of shapes whose coordinates ``transform`` maps from
    sub-pixel indices."""
    pairs = [(shape, 1) for shape in shapes]
    if not pairs:
        return np.zeros((TILE_PX, TILE_PX), dtype=bool)
    fine = rasterize(pairs, out_shape=(TILE_PX * SUB,) * 2, transform=transform, dtype="uint8")
    return fine.reshape(TILE_PX, SUB, TILE_PX, SUB).max(axis=(1, 3)).astype(bool)


def tile_filled(features: Iterable[Mapping[str, Any]]) -> np.ndarray:
    """Filled pixels of a decoded MVT layer's features (extent 4096, y pointing down)."""
    step = MVT_EXTENT / (TILE_PX * SUB)
    return filled((f["geometry"] for f in features), Affine(step, 0, 0, 0, step, 0))


def data_filled(geometries: Iterable[Any], bounds: tuple[float, float, float, float]) -> np.ndarray:
    """Filled pixels of full-resolution geometries (in the grid's CRS) over a tile's bounds."""
    return filled(geometries, from_bounds(*bounds, TILE_PX * SUB, TILE_PX * SUB))


@dataclass(frozen=True)
class Coverage:
    data_pixels: int
    covered: float  # share of the data's pixels the tile fills
    false_fill: float  # tile pixels where the data has none, as a share of the data's
    beyond_one_pixel: int  # tile pixels farther than one pixel from any data pixel

    @classmethod
    def of(cls, tile: np.ndarray, data: np.ndarray) -> Coverage:
        count = int(data.sum())
        near = data.copy()  # the data dilated by one pixel (8-neighbourhood)
        padded = np.pad(data, 1)
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                near |= padded[dy : dy + TILE_PX, dx : dx + TILE_PX]
        return cls(
            data_pixels=count,
            covered=float((tile & data).sum()) / max(count, 1),
            false_fill=float((tile & ~data).sum()) / max(count, 1),
            beyond_one_pixel=int((tile & ~near).sum()),
        )
