"""Read what a batch's WKB says about itself from the header bytes alone.

Most files arrive as plain 2D little-endian WKB of one geometry family. For those, the
type code and the part count in each header are enough to drop empties and promote
single parts to multi, so the geometries can go to PostGIS without being parsed here
first (they are still parsed and validated, by ``ingest.deferred_check``, before the
version is published). Anything else (Z, M, EWKB flags, collections, big-endian,
nulls) returns ``None`` and takes the full path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from ingest.copytext import contiguous_wkb

# ISO WKB codes of 2D Point … MultiPolygon, and shapely's type id for each.
_PLAIN_2D = np.array([1, 2, 3, 4, 5, 6], dtype=np.uint32)
SHAPELY_TYPE_ID = np.array([-1, 0, 1, 3, 4, 5, 6], dtype=np.int32)
_POINT_SIZE = 21  # byte order + type + x + y


@dataclass(frozen=True)
class WkbHeaders:
    """Per geometry: shapely type id and whether it is empty."""

    type_ids: NDArray[np.int32]
    empty: NDArray[np.bool_]

    def filter(self, keep: NDArray[np.bool_]) -> WkbHeaders:
        return WkbHeaders(self.type_ids[keep], self.empty[keep])


def read_headers(wkb: pa.Array) -> WkbHeaders | None:
    """Type ids and emptiness of plain 2D little-endian WKB, or None for anything else."""
    if len(wkb) == 0 or wkb.null_count:
        return None
    data, offsets = contiguous_wkb(wkb)
    raw = np.frombuffer(data, dtype=np.uint8)
    starts = offsets[:-1]
    if (np.diff(offsets) < 9).any() or (raw[starts] != 1).any():
        return None
    codes = _uint32_at(raw, starts + 1)
    if not np.isin(codes, _PLAIN_2D).all():
        return None
    empty = _uint32_at(raw, starts + 5) == 0  # rings, points or parts
    points = codes == 1
    if points.any():
        if (np.diff(offsets)[points] != _POINT_SIZE).any():
            return None
        empty[points] = np.isnan(_float64_at(raw, starts[points] + 5))
    return WkbHeaders(SHAPELY_TYPE_ID[codes], empty)


def _uint32_at(raw: NDArray[np.uint8], positions: NDArray[np.int64]) -> NDArray[np.uint32]:
    values: NDArray[np.uint32] = raw[positions[:, None] + np.arange(4)].copy().view("<u4")
    return values.ravel()


def _float64_at(raw: NDArray[np.uint8], positions: NDArray[np.int64]) -> NDArray[np.float64]:
    values: NDArray[np.float64] = raw[positions[:, None] + np.arange(8)].copy().view("<f8")
    return values.ravel()
