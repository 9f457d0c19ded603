"""Land-use transition matrix of two versions of N parcels: OneMap vs geopandas.overlay.

Version A: the jittered parcels of bench/spatial_overlay.py; version B: the same parcels
with a tenth changing class and a tenth moved by a third of their side. Both sides give the
ellipsoidal area (km², pyproj.Geod) of each (class in A, class in B).

    PYTHONPATH=. .venv/bin/python bench/spatial_change.py [--parcels 50000]
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Geod

from bench.spatial_overlay import ADMIN, CLASSES, parcels_over
from spatial.change import ABSENT, transitions

GEOD = Geod(ellps="GRS80")


def second_version(a: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(17)
    b = a.copy()
    changed = rng.random(len(b)) < 0.1
    b.loc[changed, "landuse"] = rng.choice(CLASSES, int(changed.sum()))
    moved = rng.random(len(b)) < 0.1
    side = np.sqrt(shapely.area(b.geometry.values[0]))
    b.loc[moved, "geometry"] = b.geometry[moved].translate(xoff=side / 3)
    return b


def with_geopandas(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> dict[tuple[str, str], float]:
    pieces = gpd.overlay(a, b, how="intersection", keep_geom_type=True)
    areas = [
        abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(g))[0]) / 1e6
        for g in pieces.geometry
    ]
    pieces["area_km2"] = areas
    table = pieces.groupby(["landuse_1", "landuse_2"])["area_km2"].sum()
    return {(str(k[0]), str(k[1])): float(v) for k, v in table.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parcels", type=int, default=50_000)
    args = parser.parse_args()
    counties = gpd.read_file(ADMIN, layer="gd_county").set_crs(4490, allow_override=True)
    a = parcels_over(shapely.union_all(counties.geometry.values), args.parcels)
    b = second_version(a)
    frames = [f.rename(columns={"landuse": "value"}) for f in (a, b)]
    started = time.perf_counter()
    ours = transitions(*frames)
    onemap_s = time.perf_counter() - started
    print(f"{len(a)} parcels × 2 versions; OneMap transitions: {onemap_s:.2f}s")
    started = time.perf_counter()
    theirs = with_geopandas(a, b)
    geopandas_s = time.perf_counter() - started
    print(f"geopandas.overlay + Geod areas: {geopandas_s:.2f}s → ×{geopandas_s / onemap_s:.1f}")
    inner = ours[(ours["from_class"] != ABSENT) & (ours["to_class"] != ABSENT)]
    mine = {(r.from_class, r.to_class): r.area_km2 for r in inner.itertuples()}
    diff = sum(abs(mine.get(k, 0.0) - v) for k, v in theirs.items()) / sum(theirs.values())
    print(f"total difference: {diff:.2e} of {sum(theirs.values()):,.0f} km²")


if __name__ == "__main__":
    main()
