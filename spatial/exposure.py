"""People inside zones, from a population grid layer: Σ cell population × covered fraction.

The grid is a vector layer of regular lon/lat cells (axis-aligned, one size, on one lattice)
with a population field, so it is published, filtered, drawn and read in SQL like any layer,
and only the cells under the zones are read. Laid onto its lattice it is a raster, and each
zone's covered fraction of every cell comes from the zonal code (``spatial.zonal.coverage``);
a cell's people are taken as spread evenly over the cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from numpy.typing import NDArray

from layers.errors import InvalidParameter
from spatial.geodesy import area_km2
from spatial.zonal.coverage import pieces
from spatial.zonal.scan import Grid

LATTICE_TOLERANCE = 1e-6  # of a cell: how far a cell edge may be off its lattice line


@dataclass(frozen=True)
class PopulationGrid:
    """Population per lattice cell (0 where the layer has no cell), and the lattice."""

    grid: Grid
    population: NDArray[np.float64]  # rows × columns, north-up

    def people_in(self, zone: shapely.Geometry) -> float:
        """Σ population × the fraction of the cell ``zone`` covers (exact coverage)."""
        bounds = shapely.bounds(zone)
        window = self.grid.window(bounds)
        if window is None:
            return 0.0
        col_off, row_off, width, height = window
        clipped = self.grid.clip(zone, bounds)
        cells = pieces(clipped, self.grid.transform, col_off, row_off, width, height).cells(
            0, height
        )
        left = col_off + cells.left
        block = self.population[row_off : row_off + height, left : left + cells.inside.shape[1]]
        full = float(block[cells.inside].sum())
        return full + float((block[cells.row, cells.col] * cells.fraction).sum())


def population_grid(cells: gpd.GeoDataFrame, field: str) -> PopulationGrid:
    """The cells laid onto their lattice; 400 naming the problem when they are not a grid."""
    if field not in cells.columns:
        raise InvalidParameter(f"the population layer has no field '{field}'")
    raw = cells[field]
    values = pd.to_numeric(raw, errors="coerce")
    bad = raw[values.isna() & raw.notna()]
    if len(bad):
        raise InvalidParameter(f"field '{field}' is not numeric (value {bad.iloc[0]!r})")
    people = values.fillna(0.0).to_numpy(dtype=np.float64)
    if (people < 0).any():
        raise InvalidParameter(f"field '{field}' has negative populations")
    if cells.empty:
        return PopulationGrid(Grid(Affine.identity(), 0, 0, 1, None, True), np.zeros((0, 0)))
    bounds = shapely.bounds(cells.geometry.values._data)
    transform, row, col = _lattice(bounds, shapely.area(cells.geometry.values._data))
    height, width = int(row.max()) + 1, int(col.max()) + 1
    population = np.zeros((height, width))
    flat = row * width + col
    if len(np.unique(flat)) != len(flat):
        raise InvalidParameter("two cells of the population layer lie on the same grid cell")
    population[row, col] = people
    return PopulationGrid(Grid(transform, width, height, 1, None, True), population)


def _lattice(
    bounds: NDArray[np.float64], areas: NDArray[np.float64]
) -> tuple[Affine, NDArray[np.int64], NDArray[np.int64]]:
    """The north-up transform of the cells' lattice and each cell's (row, column)."""
    widths, heights = bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]
    size_x, size_y = float(np.median(widths)), float(np.median(heights))
    same_size = (np.abs(widths - size_x) <= LATTICE_TOLERANCE * size_x) & (
        np.abs(heights - size_y) <= LATTICE_TOLERANCE * size_y
    )
    # A polygon as large as its bounding box is that box: an axis-aligned cell.
    boxes = np.abs(areas - widths * heights) <= 1e-6 * widths * heights
    west, north = float(bounds[:, 0].min()), float(bounds[:, 3].max())
    col_f, row_f = (bounds[:, 0] - west) / size_x, (north - bounds[:, 3]) / size_y
    col, row = np.rint(col_f).astype(np.int64), np.rint(row_f).astype(np.int64)
    aligned = (np.abs(col_f - col) <= 1e-4) & (np.abs(row_f - row) <= 1e-4)
    wrong = np.flatnonzero(~(same_size & boxes & aligned))
    if len(wrong):
        raise InvalidParameter(
            "the population layer is not a regular lon/lat grid (axis-aligned cells of one "
            f"size on one lattice): its feature {int(wrong[0]) + 1} is not such a cell"
        )
    return Affine(size_x, 0.0, west, 0.0, -size_y, north), row, col


def people_per_zone(grid: PopulationGrid, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``zones`` with ``people`` and ``area_km2``."""
    result = zones.copy()
    result["people"] = [grid.people_in(z) for z in zones.geometry.values]
    result["area_km2"] = area_km2(zones.geometry.values._data)
    return result


def people_per_unit(
    grid: PopulationGrid, zones: gpd.GeoDataFrame, units: gpd.GeoDataFrame, code_field: str
) -> gpd.GeoDataFrame:
    """One row per zone and unit it meets: the part of the zone in the unit, its people."""
    zone_at, unit_at, parts = _overlaps(zones.geometry.values._data, units)
    columns = {
        "zone": zones["zone"].to_numpy()[zone_at],
        "unit_code": units[code_field].astype(str).to_numpy()[unit_at],
    }
    if "name" in units.columns:  # (the admin layers' names: 天河区 reads better than 440106)
        columns["unit_name"] = units["name"].to_numpy()[unit_at]
    frame = gpd.GeoDataFrame(columns, geometry=parts, crs=zones.crs)
    return people_per_zone(grid, frame)


def _overlaps(
    zones: NDArray[np.object_], units: gpd.GeoDataFrame
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.object_]]:
    """(zone, unit, common part) of each pair whose interiors meet. One DE-9IM matrix per
    pair that may meet says how: a unit inside its zone, or a zone inside its unit, is the
    part as it is — no overlay of two detailed boundaries (zones that are units)."""
    unit_geoms = units.geometry.values._data
    zone_at, unit_at = units.sindex.query(zones, predicate="intersects")
    matrix = shapely.relate(zones[zone_at], unit_geoms[unit_at])
    cell = np.array([list(m) for m in matrix], dtype="<U1").reshape(-1, 9)
    meet = cell[:, 0] != "F"  # the interiors meet (neighbours that only touch do not)
    unit_inside = (cell[:, 6] == "F") & (cell[:, 7] == "F")  # no part of the unit outside
    zone_inside = (cell[:, 2] == "F") & (cell[:, 5] == "F")
    zone_at, unit_at = zone_at[meet], unit_at[meet]
    unit_inside, zone_inside = unit_inside[meet], zone_inside[meet] & ~unit_inside[meet]
    parts = unit_geoms[unit_at].copy()
    parts[zone_inside] = zones[zone_at[zone_inside]]
    crossing = ~(unit_inside | zone_inside)
    parts[crossing] = shapely.intersection(parts[crossing], zones[zone_at[crossing]])
    return zone_at, unit_at, parts
