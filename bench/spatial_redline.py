"""Red-line check of generated parcels × the synthetic protected zones × the counties:
OneMap (spatial.redline) vs geopandas.overlay on the same inputs.

Both give the ellipsoidal area (pyproj.Geod, m²) of each parcel in each class and of each
class in each county: geopandas as two overlays (parcels × zones, then × counties) with the
areas measured by Geod; OneMap as the process computes it (dissolved class pieces, county
pieces). Parcels are the jittered squares of bench/spatial_overlay.py over the province.

    .venv/bin/python bench/spatial_redline.py [--parcels 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.spatial_overlay import parcels_over  # noqa: E402
from spatial.geodesy import geodesic_areas_m2  # noqa: E402
from spatial.redline import Overlaps, overlaps_of  # noqa: E402

SAMPLE = ROOT / "ingest" / "sample"


def with_onemap(
    parcels: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, counties: gpd.GeoDataFrame
) -> Overlaps:
    geoms = parcels.geometry.values._data
    return overlaps_of(geoms, geodesic_areas_m2(geoms), zones, "zone_class", counties, "adcode")


def with_geopandas(
    parcels: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, counties: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    parts = gpd.overlay(parcels, zones[["zone_class", "geometry"]], keep_geom_type=True)
    parts["m2"] = geodesic_areas_m2(parts.geometry.values._data)
    cut = gpd.overlay(parts[["zone_class", "geometry"]], counties, keep_geom_type=True)
    cut["m2"] = geodesic_areas_m2(cut.geometry.values._data)
    return parts, cut


def timed(runs: int, work: object, *args: object) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work(*args)  # type: ignore[operator]
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parcels", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    counties = gpd.read_file(SAMPLE / "guangdong_admin_cnmaps.gpkg", layer="gd_county")
    counties = counties.set_crs(4490, allow_override=True)[["adcode", "geometry"]]
    zones = gpd.read_file(SAMPLE / "synthetic" / "guangdong_protected_zones.gpkg")
    zones = zones.set_crs(4490, allow_override=True)
    parcels = parcels_over(shapely.union_all(counties.geometry.values), args.parcels)
    parcels = parcels.assign(pid=np.arange(len(parcels)))[["pid", "geometry"]]
    print(f"{len(parcels)} parcels, {len(zones)} zones, {len(counties)} counties")
    ours_s, ours = timed(args.runs, with_onemap, parcels, zones, counties)
    peer_s, peer = timed(args.runs, with_geopandas, parcels, zones, counties)
    assert isinstance(ours, Overlaps) and isinstance(peer, tuple)
    total, peer_total = ours.parts["area_m2"].sum(), peer[0]["m2"].sum()
    in_counties = ours.by_unit.loc[ours.by_unit["unit"].notna(), "area_m2"].sum()
    county_gap = abs(in_counties - peer[1]["m2"].sum()) / peer[1]["m2"].sum()
    print(
        f"OneMap {ours_s:.2f} s, geopandas.overlay + Geod {peer_s:.2f} s (×{peer_s / ours_s:.1f})"
    )
    print(
        f"overlap {total / 1e6:,.1f} km² vs {peer_total / 1e6:,.1f} km² "
        f"(relative gap {abs(total - peer_total) / peer_total:.1e}); by county {county_gap:.1e}"
    )


if __name__ == "__main__":
    main()
