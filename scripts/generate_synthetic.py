"""Generate the SYNTHETIC demo layers (facilities, roads, monitoring stations, land use,
water sources, factories) inside the real Guangdong counties.

Deterministic (fixed seed): running it again writes the same features. Every layer is marked
synthetic in its name and in a ``synthetic`` field; nothing here is real-world data.

    .venv/bin/python scripts/generate_synthetic.py  # → ingest/sample/synthetic/*.gpkg
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import Delaunay

ROOT = Path(__file__).resolve().parents[1]
ADMIN = ROOT / "ingest" / "sample" / "guangdong_admin_cnmaps.gpkg"
OUT = ROOT / "ingest" / "sample" / "synthetic" / "guangdong_synthetic.gpkg"
SEED = 20261125
TOWNS_PER_COUNTY = 3
MAX_TRUNK_KM = 150.0
GUANGZHOU = (113.27, 23.13)
os.environ.setdefault(
    "OGR_CURRENT_DATE", "2026-01-01T00:00:00.000Z"
)  # byte-identical output  # the PM2.5 field peaks over the Pearl River Delta


def random_points_in(
    geom: shapely.Geometry, n: int, rng: np.random.Generator
) -> list[shapely.Point]:
    minx, miny, maxx, maxy = geom.bounds
    shapely.prepare(geom)
    found: list[shapely.Point] = []
    while len(found) < n:
        xs = rng.uniform(minx, maxx, 64)
        ys = rng.uniform(miny, maxy, 64)
        for x, y in zip(xs, ys, strict=True):
            point = shapely.Point(round(float(x), 6), round(float(y), 6))
            if geom.contains(point) and len(found) < n:
                found.append(point)
    return found


def road_network(
    counties: gpd.GeoDataFrame, rng: np.random.Generator
) -> tuple[gpd.GeoDataFrame, list[shapely.Point]]:
    seats = [
        shapely.Point(round(p.x, 6), round(p.y, 6))
        for p in counties.geometry.representative_point()
    ]
    rows = []
    coords = np.array([(p.x, p.y) for p in seats])
    for a, b in sorted(
        {
            tuple(sorted((int(s[i]), int(s[j]))))
            for s in Delaunay(coords).simplices
            for i, j in ((0, 1), (1, 2), (0, 2))
        }
    ):
        line = shapely.LineString([seats[a], seats[b]])
        if line.length * 105 <= MAX_TRUNK_KM:
            rows.append(
                {
                    "name": f"合成干线 S{len(rows) + 1:03d}",
                    "road_class": "trunk",
                    "speed_kmh": 80.0,
                    "geometry": line,
                }
            )
    for seat, (_, county) in zip(seats, counties.iterrows(), strict=True):
        towns = random_points_in(county.geometry, TOWNS_PER_COUNTY, rng)
        for k, town in enumerate(towns):
            rows.append(
                {
                    "name": f"合成县道 {county.adcode}-{k + 1}",
                    "road_class": "county",
                    "speed_kmh": 50.0,
                    "geometry": shapely.LineString([seat, town]),
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326), seats


def facilities(
    counties: gpd.GeoDataFrame, seats: list[shapely.Point], rng: np.random.Generator
) -> gpd.GeoDataFrame:
    rows = []
    for seat, (_, county) in zip(seats, counties.iterrows(), strict=True):
        hospital = shapely.Point(round(seat.x + 0.004, 6), round(seat.y + 0.003, 6))
        rows.append(
            {
                "name": f"合成医院 {county['name']}",
                "kind": "hospital",
                "adcode": county.adcode,
                "geometry": hospital,
            }
        )
        for k, point in enumerate(random_points_in(county.geometry, 3, rng)):
            rows.append(
                {
                    "name": f"合成学校 {county['name']} {k + 1}",
                    "kind": "school",
                    "adcode": county.adcode,
                    "geometry": point,
                }
            )
        fire = random_points_in(county.geometry, 1, rng)[0]
        rows.append(
            {
                "name": f"合成消防站 {county['name']}",
                "kind": "fire_station",
                "adcode": county.adcode,
                "geometry": fire,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def stations(
    province: shapely.Geometry, counties: gpd.GeoDataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    points = random_points_in(province, 160, rng)
    xy = np.array([(p.x, p.y) for p in points])
    distance = np.hypot(xy[:, 0] - GUANGZHOU[0], xy[:, 1] - GUANGZHOU[1])
    pm25 = 18 + 42 * np.exp(-((distance / 1.2) ** 2)) + rng.normal(0, 3, len(points))
    no2 = 12 + 30 * np.exp(-((distance / 0.9) ** 2)) + rng.normal(0, 2, len(points))
    frame = gpd.GeoDataFrame(
        {
            "station_id": [f"SYN{i:04d}" for i in range(1, len(points) + 1)],
            "pm25": pm25.round(1),
            "no2": no2.round(1),
        },
        geometry=points,
        crs=4326,
    )
    located = gpd.sjoin(frame, counties[["adcode", "geometry"]], predicate="within", how="left")
    frame["adcode"] = located["adcode"].groupby(level=0).first()
    return frame


def land_use(
    province: shapely.Geometry, rng: np.random.Generator, step: float = 0.1
) -> gpd.GeoDataFrame:
    minx, miny, maxx, maxy = province.bounds
    classes = np.array(["farmland", "forest", "built-up", "water", "grassland"])
    weights = np.array([0.3, 0.4, 0.15, 0.08, 0.07])
    cells = [
        shapely.box(x, y, x + step, y + step)
        for x in np.arange(minx, maxx, step)
        for y in np.arange(miny, maxy, step)
    ]
    clipped = shapely.intersection(np.array(cells, dtype=object), province)
    clipped = [shapely.set_precision(g, 1e-6) for g in clipped if not g.is_empty and g.area > 1e-6]
    kinds = rng.choice(classes, size=len(clipped), p=weights)
    return gpd.GeoDataFrame({"landuse": kinds}, geometry=clipped, crs=4326)


def mark(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = frame.copy()
    frame["synthetic"] = True
    return frame


def main() -> int:
    rng = np.random.default_rng(SEED)
    counties = gpd.read_file(ADMIN, layer="gd_county").sort_values("adcode").reset_index(drop=True)
    province = shapely.union_all(gpd.read_file(ADMIN, layer="gd_province").geometry.values)
    province = shapely.simplify(province, 0.01)
    roads, seats = road_network(counties, rng)
    layers = {
        "roads": roads,
        "facilities": facilities(counties, seats, rng),
        "stations": stations(province, counties, rng),
        "landuse": land_use(province, rng),
        "water_sources": gpd.GeoDataFrame(
            {"name": [f"合成水源地 {i + 1}" for i in range(40)]},
            geometry=random_points_in(province, 40, rng),
            crs=4326,
        ),
        "factories": gpd.GeoDataFrame(
            {"name": [f"合成工厂 {i + 1}" for i in range(300)]},
            geometry=random_points_in(province, 300, rng),
            crs=4326,
        ),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.unlink(missing_ok=True)
    for name, frame in layers.items():
        mark(frame).to_file(OUT, layer=name, driver="GPKG")
        print(f"{name}: {len(frame)} features")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
