"""Overlay statistics of 200,000 parcels × the 124 counties: OneMap vs geopandas.overlay.

Both produce area (km², Albers equal-area) per (county, class). Parcels are jittered squares
of ~0.8 km² over the province (generated, not committed).

    .venv/bin/python bench/spatial_overlay.py [--parcels 200000] [--skip-geopandas]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from spatial.geodesy import EQUAL_AREA_CRS
from spatial.overlay import overlay_areas

ADMIN = Path(__file__).resolve().parents[1] / "ingest" / "sample" / "guangdong_admin_cnmaps.gpkg"
CLASSES = np.array(["farmland", "forest", "built-up", "water", "grassland"])


def parcels_over(province: shapely.Geometry, n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(200_000)
    minx, miny, maxx, maxy = province.bounds
    step = np.sqrt(province.area / (n * 1.02))  # a little denser, then cut to exactly n
    xs, ys = np.meshgrid(np.arange(minx, maxx, step), np.arange(miny, maxy, step))
    corners = np.column_stack([xs.ravel(), ys.ravel()])
    shapely.prepare(province)
    inside = shapely.intersects_xy(province, corners[:, 0] + step / 2, corners[:, 1] + step / 2)
    corners = corners[inside][:n]
    jitter = rng.uniform(-0.1, 0.1, corners.shape) * step
    boxes = shapely.box(*(corners + jitter).T, *(corners + jitter + step * 0.98).T)
    return gpd.GeoDataFrame({"landuse": rng.choice(CLASSES, len(boxes))}, geometry=boxes, crs=4490)


def with_geopandas(parcels: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    pieces = gpd.overlay(
        parcels, counties[["adcode", "geometry"]], how="intersection", keep_geom_type=True
    )
    pieces["area_km2"] = pieces.to_crs(EQUAL_AREA_CRS).area / 1e6
    return pieces.groupby(["adcode", "landuse"], as_index=False)["area_km2"].sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parcels", type=int, default=200_000)
    parser.add_argument("--skip-geopandas", action="store_true")
    args = parser.parse_args()
    counties = gpd.read_file(ADMIN, layer="gd_county").set_crs(4490, allow_override=True)
    province = shapely.union_all(counties.geometry.values)
    parcels = parcels_over(province, args.parcels)
    print(
        f"{len(parcels)} parcels, {len(counties)} counties "
        f"({int(shapely.get_num_coordinates(counties.geometry.values).sum())} county vertices)"
    )
    started = time.perf_counter()
    ours = overlay_areas(parcels, "landuse", counties, "adcode")
    onemap_s = time.perf_counter() - started
    print(f"OneMap overlay_areas: {onemap_s:.2f}s")
    if args.skip_geopandas:
        return
    started = time.perf_counter()
    theirs = with_geopandas(parcels, counties)
    geopandas_s = time.perf_counter() - started
    print(
        f"geopandas.overlay + areas: {geopandas_s:.2f}s  → speed-up ×{geopandas_s / onemap_s:.1f}"
    )
    joined = ours.merge(theirs, on=["adcode", "landuse"], suffixes=("", "_gpd"))
    diff = (joined["area_km2"] - joined["area_km2_gpd"]).abs().sum() / joined["area_km2_gpd"].sum()
    print(f"total area difference: {diff:.2e} of {joined['area_km2_gpd'].sum():,.0f} km²")


if __name__ == "__main__":
    main()
