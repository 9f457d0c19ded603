"""People per county from the synthetic population grid: OneMap vs geopandas.overlay.

The 124 counties are the zones (every boundary cuts cells); OneMap sums cell population ×
exact covered fraction (``spatial.exposure``), the peer overlays cells × counties in the
equal-area CRS and weights by area. Reads the bundled files; no database.

    .venv/bin/python bench/spatial_exposure.py
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from spatial.exposure import people_per_zone, population_grid
from spatial.geodesy import EQUAL_AREA_CRS

SAMPLE = Path(__file__).resolve().parents[1] / "ingest" / "sample"


def geopandas_people(cells: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.Series:
    """The peer (and the tests' reference): geopandas.overlay in the equal-area CRS × the
    area-weighted population of each piece, summed per ``zone``."""
    cells = cells[["population", "geometry"]].to_crs(EQUAL_AREA_CRS)
    cells["cell_area"] = cells.area
    pieces = gpd.overlay(cells, zones.to_crs(EQUAL_AREA_CRS), how="intersection")
    pieces["people"] = pieces["population"] * pieces.area / pieces["cell_area"]
    return pieces.groupby("zone")["people"].sum()


def main() -> None:
    cells = gpd.read_file(SAMPLE / "synthetic" / "guangdong_population_grid.fgb")
    cells = cells.set_crs(4490, allow_override=True)  # (CGCS2000 ≈ WGS 84 here: ADR 0002)
    counties = gpd.read_file(SAMPLE / "guangdong_admin_cnmaps.gpkg", layer="gd_county")
    zones = counties[["adcode", "geometry"]].rename(columns={"adcode": "zone"})
    zones = zones.set_crs(4490, allow_override=True)
    print(f"{len(cells)} cells × {len(zones)} county zones")
    started = time.perf_counter()
    ours = people_per_zone(population_grid(cells, "population"), zones).set_index("zone")
    onemap_s = time.perf_counter() - started
    print(f"OneMap (grid + exact coverage): {onemap_s:.2f}s")
    started = time.perf_counter()
    theirs = geopandas_people(cells, zones)
    geopandas_s = time.perf_counter() - started
    print(f"geopandas.overlay + area weights: {geopandas_s:.2f}s → ×{geopandas_s / onemap_s:.1f}")
    relative = np.abs(ours["people"].reindex(theirs.index) - theirs) / theirs
    print(
        f"per county: max relative difference {relative.max():.2e}; totals "
        f"{ours['people'].sum():,.0f} vs {theirs.sum():,.0f} (grid {cells.population.sum():,})"
    )


if __name__ == "__main__":
    main()
