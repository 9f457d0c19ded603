"""Generate the SYNTHETIC population grid: 0.05° cells over the real Guangdong counties.

Each cell whose centre lies in a county carries a made-up ``population``: every prefecture-level
city's 2020 census total (a published figure) is spread over its cells by a density model — a
peak at the city core, smaller ones at each county seat, a rural floor, log-normal noise — so
county and city totals are plausible while no cell value is real. Deterministic (fixed seed).

    .venv/bin/python scripts/generate_population_grid.py  # → ingest/sample/synthetic/*.fgb
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
ADMIN = ROOT / "ingest" / "sample" / "guangdong_admin_cnmaps.gpkg"
OUT = ROOT / "ingest" / "sample" / "synthetic" / "guangdong_population_grid.fgb"
SEED = 20261217
CELL_DEG = 0.05
LON0, LAT0 = 109.5, 20.0  # the lattice origin: cell edges at LON0 + i × CELL_DEG

# Residents per prefecture-level city at the 2020 (7th) census, millions (they sum to the
# province's published 126.01 M).
CITY_TOTALS_M = {
    "440100": 18.68, "440200": 2.86, "440300": 17.56, "440400": 2.44, "440500": 5.50,
    "440600": 9.50, "440700": 4.80, "440800": 6.98, "440900": 6.17, "441200": 4.11,
    "441300": 6.04, "441400": 3.87, "441500": 2.67, "441600": 2.84, "441700": 2.60,
    "441800": 3.97, "441900": 10.47, "442000": 4.42, "445100": 2.57, "445200": 5.58,
    "445300": 2.38,
}  # fmt: skip
CORE_KM, SEAT_KM = 12.0, 6.0  # e-folding radii of the city-core and county-seat peaks
CORE_PEAK, SEAT_PEAK = 40.0, 6.0  # peak densities relative to the rural floor


def lattice_cells(province: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of every lattice cell whose centre lies in the province."""
    west, south, east, north = province.bounds
    cols = np.arange(int((west - LON0) // CELL_DEG), int((east - LON0) // CELL_DEG) + 1)
    rows = np.arange(int((south - LAT0) // CELL_DEG), int((north - LAT0) // CELL_DEG) + 1)
    col, row = (a.ravel() for a in np.meshgrid(cols, rows))
    centres = shapely.points(LON0 + (col + 0.5) * CELL_DEG, LAT0 + (row + 0.5) * CELL_DEG)
    shapely.prepare(province)
    inside = shapely.contains(province, centres)
    return row[inside], col[inside]


def km_between(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    """Approximate distance (km, equirectangular): enough to shape a synthetic density."""
    dx = (lon - lon0) * 111.32 * np.cos(np.radians(lat0))
    return np.asarray(np.hypot(dx, (lat - lat0) * 110.57))


def density(
    cells: gpd.GeoDataFrame, counties: gpd.GeoDataFrame, rng: np.random.Generator
) -> np.ndarray:
    centres = shapely.centroid(cells.geometry.values)
    lon, lat = shapely.get_x(centres), shapely.get_y(centres)
    weight = np.ones(len(cells))
    seats = counties.set_index("adcode").geometry.representative_point()
    for city, group in counties.groupby("city_adcode"):
        core = seats[group.adcode.iloc[0]]  # the city's first district: its old core
        mine = (cells.city_adcode == city).to_numpy()
        weight[mine] += CORE_PEAK * np.exp(
            -km_between(lon[mine], lat[mine], core.x, core.y) / CORE_KM
        )
    for adcode, seat in seats.items():
        mine = (cells.adcode == adcode).to_numpy()
        weight[mine] += SEAT_PEAK * np.exp(
            -km_between(lon[mine], lat[mine], seat.x, seat.y) / SEAT_KM
        )
    return np.asarray(weight * rng.lognormal(0.0, 0.35, len(cells)))


def population_grid(counties: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    province = shapely.union_all(counties.geometry.values)
    row, col = lattice_cells(province)
    x0, y0 = LON0 + col * CELL_DEG, LAT0 + row * CELL_DEG
    boxes = shapely.box(
        np.round(x0, 6), np.round(y0, 6), np.round(x0 + CELL_DEG, 6), np.round(y0 + CELL_DEG, 6)
    )
    cells = gpd.GeoDataFrame(geometry=boxes, crs=4326)
    centres = gpd.GeoDataFrame(geometry=shapely.centroid(boxes), crs=4326)
    located = gpd.sjoin(
        centres, counties[["adcode", "city_adcode", "geometry"]], predicate="within"
    )
    located = located[~located.index.duplicated()]
    cells = cells.loc[located.index].reset_index(drop=True)
    cells["adcode"] = located["adcode"].to_numpy()
    cells["city_adcode"] = located["city_adcode"].to_numpy()
    weight = density(cells, counties, rng)
    population = np.zeros(len(cells))
    for city, total in CITY_TOTALS_M.items():
        mine = (cells.city_adcode == city).to_numpy()
        population[mine] = weight[mine] / weight[mine].sum() * total * 1e6
    cells["population"] = np.round(population).astype(np.int32)
    # SYNTHETIC is said by the layer's title and metadata: no flag per cell (keeps it < 1 MB).
    return cells.drop(columns="city_adcode")


def main() -> int:
    rng = np.random.default_rng(SEED)
    counties = gpd.read_file(ADMIN, layer="gd_county").sort_values("adcode").reset_index(drop=True)
    grid = population_grid(counties, rng)
    OUT.unlink(missing_ok=True)
    # FlatGeobuf without its R-tree (ingest builds its own): 6,400 cells in under 1 MB.
    grid.to_file(OUT, driver="FlatGeobuf", SPATIAL_INDEX="NO")
    per_county = grid.groupby("adcode")["population"].sum()
    print(
        f"population: {len(grid)} cells of {CELL_DEG}°, {grid.population.sum() / 1e6:.2f} M people"
    )
    print(f"counties with cells: {len(per_county)} of {len(counties)}; "
          f"county totals {per_county.min():,} .. {per_county.max():,}")  # fmt: skip
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
