"""The exact fraction of every raster cell that a polygon covers, computed in numpy.

The area-accumulation method of font rasterisers: each polygon edge is cut where it crosses a
grid line, so every piece lies inside one cell. A piece of signed height dy adds dy to the
winding area of all cells right of it, and to its own cell only the part right of the piece;
storing those as differences and summing along each row gives, for every cell, the integral of
the winding number over the cell — its covered fraction. Exact up to float rounding (the same
quantity exactextract computes). The sum is only taken over cells an edge touches, so the float
work grows with the boundary length; the zone's area costs one byte-sized running sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine
from numpy.typing import NDArray

Floats = NDArray[np.float64]
ROUNDING = 1e-9  # the running sum's float rounding (≤ cells in a row × 1e-16)


@dataclass(frozen=True)
class Cells:
    """Covered cells of some rows, in the columns from ``left`` on that any of them covers."""

    left: int
    inside: NDArray[np.bool_]  # fully covered cells, rows × columns of the span
    row: NDArray[np.int64]  # partly covered cells, columns counted from left ...
    col: NDArray[np.int64]
    fraction: Floats  # ... and how much of each is covered


@dataclass(frozen=True)
class Pieces:
    """Edge pieces of one polygon, in window pixel coordinates, sorted by row."""

    row: NDArray[np.int64]
    x_mid: Floats  # where the piece crosses its cell, on average (pieces are straight)
    dy: Floats  # signed height; its sign follows the ring's orientation
    width: int

    def cells(self, top: int, bottom: int) -> Cells:
        """The covered cells of window rows top..bottom-1.

        Only cells that pieces touch change the running sum; between two of them it is
        constant, so the sum is taken over those cells alone and the runs between them are
        either covered (1), uncovered (0) or, under a horizontal edge, covered by a fraction.
        """
        stride = self.width + 2  # room for col + 1 when x is at the right edge
        at, level = self._touched(top, bottom, stride)
        start, end, run_level = at[:-1] + 1, at[1:], level[:-1]
        runs = end > start
        full = runs & (run_level > 1 - ROUNDING)
        marks = np.zeros((bottom - top) * stride + 1, dtype=np.int8)
        marks[start[full]] = 1
        marks[end[full]] = -1
        inside = np.cumsum(marks[:-1], dtype=np.int8).view(np.bool_)
        part = runs & ~full & (run_level > ROUNDING)  # runs under a horizontal edge
        lengths = (end - start)[part]
        first = np.repeat(start[part] - np.cumsum(lengths) + lengths, lengths)
        edge = np.concatenate([at[level > ROUNDING], np.arange(lengths.sum()) + first])
        fraction = np.concatenate([level[level > ROUNDING], np.repeat(run_level[part], lengths)])
        row, col = np.divmod(edge, stride)
        keep = col < self.width
        # Covered cells lie between the first and the last touched cell of their row.
        touched = at % stride
        left = int(touched.min(initial=self.width))
        right = int(min(self.width, touched.max(initial=left - 1) + 1))
        inside_span = inside.reshape(bottom - top, stride)[:, left:right]
        fraction = np.minimum(fraction[keep], 1.0)
        return Cells(left, inside_span, row[keep], col[keep] - left, fraction)

    def _touched(self, top: int, bottom: int, stride: int) -> tuple[NDArray[np.int64], Floats]:
        """Cells (as row * stride + col) the pieces touch, and the running sum's level there."""
        first, last = np.searchsorted(self.row, [top, bottom])
        rows, x, dy = self.row[first:last] - top, self.x_mid[first:last], self.dy[first:last]
        x = np.clip(x, 0, self.width)  # left of the window: covers it all; right: nothing
        col = np.floor(x)
        flat = rows * stride + col.astype(np.int64)
        at = np.concatenate([flat, flat + 1])
        amount = np.concatenate([dy * (col + 1 - x), dy * (x - col)])
        order = np.argsort(at, kind="stable")
        at, level = at[order], np.cumsum(amount[order])
        last_of_cell = np.diff(at, append=at[-1:] + 1) != 0
        # Rings are oriented alike (holes opposite), so the sign is the same everywhere.
        return at[last_of_cell], np.abs(level[last_of_cell])


def pieces(
    polygon: shapely.Geometry,
    transform: Affine,
    col_off: int,
    row_off: int,
    width: int,
    height: int,
) -> Pieces:
    """Cut ``polygon``'s edges at the grid lines of the window (col_off, row_off, width, height)."""
    parts = shapely.get_parts(polygon)  # (clipping may have left lines and points too)
    rings, owner = shapely.get_rings(
        parts[shapely.get_type_id(parts) == shapely.GeometryType.POLYGON], return_index=True
    )
    exterior = np.ones(len(rings), dtype=np.bool_)
    exterior[1:] = owner[1:] != owner[:-1]  # each polygon's first ring
    # Walk exteriors one way and holes the other, so every cell's winding number is 0 or ±1.
    backwards = shapely.is_ccw(rings) != exterior
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    # Window pixel coordinates (a north-up grid: no rotation terms).
    cols = (coords[:, 0] - transform.c) / transform.a - col_off
    rows = (coords[:, 1] - transform.f) / transform.e - row_off
    same = ring[1:] == ring[:-1]  # consecutive vertices of one ring make an edge
    flip = backwards[ring[:-1][same]]
    x0, y0, x1, y1 = cols[:-1][same], rows[:-1][same], cols[1:][same], rows[1:][same]
    x0, x1 = np.where(flip, x1, x0), np.where(flip, x0, x1)
    y0, y1 = np.where(flip, y1, y0), np.where(flip, y0, y1)
    y0, x0, y1, x1 = _cut(y0, x0, y1, x1)  # pieces within one row
    x0, y0, x1, y1 = _cut(x0, y0, x1, y1)  # ... and within one column
    dy = y1 - y0
    row = np.floor((y0 + y1) / 2).astype(np.int64)
    keep = (dy != 0) & (row >= 0) & (row < height)
    order = np.argsort(row[keep], kind="stable")
    return Pieces(row[keep][order], ((x0 + x1) / 2)[keep][order], dy[keep][order], width)


def _cut(a0: Floats, b0: Floats, a1: Floats, b1: Floats) -> tuple[Floats, Floats, Floats, Floats]:
    """Cut segments where coordinate a crosses an integer; pieces keep their order."""
    f0 = np.floor(a0)
    crossings = np.abs(np.floor(a1) - f0).astype(np.int64)
    segment = np.repeat(np.arange(len(a0)), crossings + 1)
    starts = np.cumsum(crossings + 1) - (crossings + 1)
    k = np.arange(len(segment)) - starts[segment]  # piece k runs from crossing k to k + 1
    rightwards = (a1 > a0)[segment]
    base = f0[segment]
    # The i-th crossing is grid line base + i going right, base - i + 1 going left.
    line_start = np.where(rightwards, base + k, base - k + 1)
    line_end = np.where(rightwards, base + k + 1, base - k)
    first, last = k == 0, k == crossings[segment]
    sa0, sb0, sa1, sb1 = a0[segment], b0[segment], a1[segment], b1[segment]
    span = np.where(sa1 == sa0, 1.0, sa1 - sa0)
    start = np.where(first, sa0, line_start)
    end = np.where(last, sa1, line_end)
    t0, t1 = (start - sa0) / span, (end - sa0) / span
    b_start = np.where(first, sb0, sb0 + t0 * (sb1 - sb0))
    b_end = np.where(last, sb1, sb0 + t1 * (sb1 - sb0))
    return start, b_start, end, b_end


def coverage_fractions(
    polygon: shapely.Geometry, transform: Affine, shape: tuple[int, int]
) -> Floats:
    """The covered fraction of every cell of a north-up grid of ``shape`` (rows, columns).

    ``polygon`` must be valid and in the grid's CRS; overlapping parts must be unioned
    first (a cell's winding number has to stay 0 or 1)."""
    height, width = shape
    fractions = np.zeros(shape, dtype=np.float64)
    if polygon.is_empty or height == 0 or width == 0:
        return fractions
    cells = pieces(polygon, transform, 0, 0, width, height).cells(0, height)
    span = fractions[:, cells.left : cells.left + cells.inside.shape[1]]
    span[cells.inside] = 1.0
    span[cells.row, cells.col] = cells.fraction
    return fractions
