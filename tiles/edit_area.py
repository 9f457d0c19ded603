"""Which tiles an edit touches: those whose query would read an old or a new geometry.

A tile's statement reads the features whose box meets the tile's *search box* (the tile
plus its buffer, ``mvt.TileSpec.search_box``), vector and map tiles alike, so a tile must be
re-made exactly when that box meets the bounding box of a geometry an edit removed or wrote.
The same test decides for every grid and level, the disk cache and the in-process hot tiles.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tiles import grids, mvt


@dataclass(frozen=True)
class EditArea:
    """The lon/lat boxes of the geometries before and after a run of edits."""

    boxes: tuple[grids.Bounds, ...]

    def touches(self, tms_id: str, z: int, row: int, col: int) -> bool:
        try:
            west, south, east, north = mvt.TileSpec.of(tms_id, z, row, col).search_box()
        except Exception:  # not a tile of the grid: nothing of it is cached
            return False
        return any(
            b[0] <= east and b[2] >= west and b[1] <= north and b[3] >= south for b in self.boxes
        )

    def candidates(self, tms_id: str, z: int) -> Iterator[tuple[range, range]]:
        """Row and column ranges holding every touched tile of level ``z`` (the tiles the
        boxes meet, one more around for the buffer); ``touches`` then decides each."""
        if z not in grids.level_range(tms_id):
            return
        cols, rows = grids.matrix_shape(tms_id, z)
        for box in self.boxes:
            (limits,) = grids.matrix_limits(tms_id, _clamped(box), [z])
            yield (
                range(max(limits.min_row - 1, 0), min(limits.max_row + 1, rows - 1) + 1),
                range(max(limits.min_col - 1, 0), min(limits.max_col + 1, cols - 1) + 1),
            )


def _clamped(box: grids.Bounds) -> grids.Bounds:
    west, south, east, north = box
    return max(west, -180.0), max(south, -90.0), min(east, 180.0), min(north, 90.0)
