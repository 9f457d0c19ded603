"""Generate the SYNTHETIC 三区三线 protected zones inside the real Guangdong counties.

One layer, one polygon per county and class, with the class in ``zone_class``:
城镇开发边界 (urban development boundary) around each county seat, then 永久基本农田
(permanent basic farmland) and 生态保护红线 (ecological protection red line) as irregular
blobs elsewhere in the county. The classes never overlap (the national 三线不交叉 rule):
farmland is cut out of the development boundary, the red line out of both.

Deterministic (fixed seed): running it again writes the same features. Nothing here is a
real planning line.

    .venv/bin/python scripts/generate_protected_zones.py  # → ingest/sample/synthetic/…gpkg
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
ADMIN = ROOT / "ingest" / "sample" / "guangdong_admin_cnmaps.gpkg"
OUT = ROOT / "ingest" / "sample" / "synthetic" / "guangdong_protected_zones.gpkg"
LAYER = "protected_zones"
SEED = 20261717
URBAN, FARMLAND, ECOLOGY = "城镇开发边界", "永久基本农田", "生态保护红线"
CODES = {URBAN: "urban_boundary", FARMLAND: "farmland", ECOLOGY: "eco_redline"}
# Blobs per class and their radius as a share of the county's size (sqrt of its area).
BLOBS = {FARMLAND: (3, 0.16), ECOLOGY: (2, 0.22)}
URBAN_RADIUS = 0.22
BLOB_VERTICES = 14
OUTLINE_SIMPLIFY_DEG = 0.002
GRID_DEG = 1e-6
os.environ.setdefault("OGR_CURRENT_DATE", "2026-01-01T00:00:00.000Z")  # byte-identical output


def blob(x: float, y: float, radius: float, rng: np.random.Generator) -> shapely.Polygon:
    """An irregular star-shaped polygon around (x, y), radii within ±35 % of ``radius``."""
    angles = np.linspace(0, 2 * np.pi, BLOB_VERTICES, endpoint=False)
    radii = radius * rng.uniform(0.65, 1.35, BLOB_VERTICES)
    return shapely.Polygon(
        np.column_stack([x + radii * np.cos(angles), y + radii * np.sin(angles)])
    )


def random_point(geom: shapely.Geometry, rng: np.random.Generator) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    while True:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if geom.contains(shapely.Point(x, y)):
            return float(x), float(y)


def county_zones(county: shapely.Geometry, rng: np.random.Generator) -> dict[str, shapely.Geometry]:
    """The three classes' zones of one county, clipped to it, on a 1e-6° grid, disjoint."""
    county = shapely.simplify(county, OUTLINE_SIMPLIFY_DEG)  # a lighter outline: a small file
    size = float(np.sqrt(county.area))
    seat = county.representative_point()
    zones = {URBAN: blob(seat.x, seat.y, URBAN_RADIUS * size, rng)}
    for zone_class, (count, share) in BLOBS.items():
        parts = [blob(*random_point(county, rng), share * size, rng) for _ in range(count)]
        zones[zone_class] = shapely.union_all(parts, grid_size=GRID_DEG)
    zones = {k: shapely.intersection(v, county, grid_size=GRID_DEG) for k, v in zones.items()}
    zones[URBAN] = shapely.difference(zones[URBAN], zones[FARMLAND], grid_size=GRID_DEG)
    taken = shapely.union(zones[URBAN], zones[FARMLAND], grid_size=GRID_DEG)
    zones[ECOLOGY] = shapely.difference(zones[ECOLOGY], taken, grid_size=GRID_DEG)
    return {k: polygonal(v) for k, v in zones.items()}


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    polys = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and g.area > 0]
    return shapely.MultiPolygon(polys)


def without(zone: shapely.Geometry, taken: list[shapely.Geometry]) -> shapely.Geometry:
    near = [t for t in taken if shapely.intersects(shapely.envelope(t), zone)]
    if not near:
        return zone
    return shapely.difference(zone, shapely.union_all(near, grid_size=GRID_DEG), grid_size=GRID_DEG)


def protected_zones(counties: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    rows: list[dict[str, object]] = []
    for county in counties.itertuples():
        for zone_class, zone in county_zones(county.geometry, rng).items():
            # Simplified outlines of neighbours overlap: what an earlier county took stays its.
            geom = polygonal(without(zone, [row["geometry"] for row in rows]))
            if geom.is_empty:
                continue
            rows.append(
                {
                    "zone_class": zone_class,
                    "zone_code": CODES[zone_class],
                    "adcode": county.adcode,
                    "name": f"合成{zone_class} {county.name}",
                    "synthetic": True,
                    "geometry": geom,
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def main() -> int:
    rng = np.random.default_rng(SEED)
    counties = gpd.read_file(ADMIN, layer="gd_county").sort_values("adcode").reset_index(drop=True)
    zones = protected_zones(counties, rng)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.unlink(missing_ok=True)
    zones.to_file(OUT, layer=LAYER, driver="GPKG")
    for zone_class, n in zones["zone_class"].value_counts().sort_index().items():
        print(f"{zone_class}: {n} features")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
