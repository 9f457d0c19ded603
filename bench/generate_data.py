"""Generate the benchmark layers: ≥1,000,000 points and ≥200,000 polygons inside Guangdong.

Deterministic (fixed seed), placed inside the real county polygons of the bundled
sample, with a Chinese name, an admin code, a number and a category per feature.
Writes GeoPackages under bench/data/ (not committed).

    .venv/bin/python bench/generate_data.py [--points 1000000] [--polygons 200000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

SAMPLE = Path(__file__).resolve().parents[1] / "ingest" / "sample" / "guangdong_admin_cnmaps.gpkg"
OUT = Path(__file__).resolve().parent / "data"
CATEGORIES = np.array(["学校", "医院", "水源地", "监测站", "避难场所", "消防站"])


def random_points_in_counties(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    counties = gpd.read_file(SAMPLE, layer="gd_county", engine="pyogrio").set_crs(
        4490, allow_override=True
    )
    minx, miny, maxx, maxy = counties.total_bounds
    xs, ys = np.empty(0), np.empty(0)
    tree = shapely.STRtree(counties.geometry.values)
    codes = np.empty(0, dtype=object)
    while len(xs) < n:
        x = rng.uniform(minx, maxx, n)
        y = rng.uniform(miny, maxy, n)
        pts = shapely.points(x, y)
        hit_pt, hit_county = tree.query(pts, predicate="within")
        xs = np.concatenate([xs, x[hit_pt]])
        ys = np.concatenate([ys, y[hit_pt]])
        codes = np.concatenate([codes, counties["adcode"].values[hit_county]])
    xs, ys, codes = xs[:n], ys[:n], codes[:n]
    category = CATEGORIES[rng.integers(0, len(CATEGORIES), n)]
    return gpd.GeoDataFrame(
        {
            "name": [f"{c}{i}" for i, c in enumerate(category)],
            "adcode": codes,
            "category": category,
            "value": rng.gamma(2.0, 20.0, n).round(2),
        },
        geometry=shapely.points(xs, ys),
        crs="EPSG:4490",
    )


def squares_around(points: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Parcels: rotated rectangles of 50–400 m around each point."""
    xy = shapely.get_coordinates(points.geometry.values)
    half = rng.uniform(0.00025, 0.002, (len(xy), 2))
    boxes = shapely.box(
        xy[:, 0] - half[:, 0], xy[:, 1] - half[:, 1], xy[:, 0] + half[:, 0], xy[:, 1] + half[:, 1]
    )
    frame = points.drop(columns="geometry").copy()
    frame["landuse"] = rng.choice(["耕地", "林地", "建设用地", "水域", "草地"], len(xy))
    return gpd.GeoDataFrame(frame, geometry=boxes, crs="EPSG:4490")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--polygons", type=int, default=200_000)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(20261125)
    points = random_points_in_counties(args.points, rng)
    points.to_file(OUT / "points.gpkg", engine="pyogrio", layer="points")
    parcels = squares_around(points.iloc[: args.polygons], rng)
    parcels.to_file(OUT / "polygons.gpkg", engine="pyogrio", layer="polygons")
    print(f"wrote {len(points):,} points and {len(parcels):,} polygons to {OUT}")


if __name__ == "__main__":
    main()
