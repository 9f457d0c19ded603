"""Which tiles an edit touches: those whose query would read an old or a new geometry.

A tile's statement reads the features whose box meets the tile's *search box* (the tile
grown by twice its buffer, ``mvt.TileSpec.search_box``), vector and map tiles alike, so a
tile must be re-made when that box meets the bounding box of a geometry an edit removed or
wrote. The test is done in the grid's CRS with twice that margin (the search box is grown
in lon/lat, which a Mercator tile's CRS bends a little), so it never misses a tile and
takes at most a ring of neighbours more for a geometry within 1/16 tile of their edge. One
CRS transformation per box and grid; every level, row and column after that is
arithmetic. The same test decides for the disk cache and the in-process hot tiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tiles import grids, mvt

PAD = 2 * (2 * mvt.MVT_BUFFER / mvt.MVT_EXTENT)  # tiles: twice the search box's margin


@dataclass(frozen=True)
class EditArea:
    """The lon/lat boxes of the geometries before and after a run of edits."""

    boxes: tuple[grids.Bounds, ...]
    _limits: dict[tuple[str, int], list[grids.TileMatrixLimits]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def limits(self, tms_id: str, z: int) -> list[grids.TileMatrixLimits]:
        """The touched tiles of level ``z``: one row/column range per box (remembered)."""
        found = self._limits.get((tms_id, z))
        if found is None:
            found = (
                [grids.padded_limits(tms_id, _clamped(box), z, PAD) for box in self.boxes]
                if z in grids.level_range(tms_id)
                else []
            )
            self._limits[(tms_id, z)] = found
        return found

    def touches(self, tms_id: str, z: int, row: int, col: int) -> bool:
        return any(
            lim.min_row <= row <= lim.max_row and lim.min_col <= col <= lim.max_col
            for lim in self.limits(tms_id, z)
        )


def _clamped(box: grids.Bounds) -> grids.Bounds:
    west, south, east, north = box
    return max(west, -180.0), max(south, -90.0), min(east, 180.0), min(north, 90.0)
