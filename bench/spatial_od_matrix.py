"""OD cost matrix (od-cost-matrix's core, door to door with metres) against pgr_dijkstraCost
called directly on the same network and node sets, on the synthetic Guangdong roads.

    ONEMAP_DATABASE_URL=postgresql://… .venv/bin/python bench/spatial_od_matrix.py [--side 200]
(a database with the sample layers loaded, e.g. the one `make serve` uses)
"""

from __future__ import annotations

import argparse
import os
import time

import geopandas as gpd
import numpy as np
import shapely

from spatial.context import Context
from spatial.network import ensure_network, load_sql
from spatial.routing_matrix import Router, od_matrix, snap_places


def places(n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)  # around the Pearl River Delta, where the roads are dense
    xs, ys = rng.uniform(112.9, 113.9, n), rng.uniform(22.5, 23.5, n)
    return gpd.GeoDataFrame({"fid": np.arange(1, n + 1)}, geometry=shapely.points(xs, ys), crs=4490)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with Context.open(os.environ["ONEMAP_DATABASE_URL"]) as ctx:
        conn = ctx.connection()
        net = ensure_network(conn, ctx.layer("synthetic-roads"), None)
        origins = snap_places(conn, net, places(args.side, 1), "origin")
        ends = snap_places(conn, net, places(args.side, 2), "destination")
        ours, direct = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            frame, _ = od_matrix(Router(conn, net, 15.0), origins, ends)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            params = {
                "edges_sql": net.edges_sql(conn),
                "starts": sorted({n for n in origins.nodes if n}),
                "ends": sorted({n for n in ends.nodes if n}),
            }
            conn.execute(load_sql("od_costs"), params).fetchall()
            direct.append(time.perf_counter() - t)
        a, b = min(ours), min(direct)
        print(
            f"{args.side} x {args.side}: od_matrix {a:.2f} s, pgr_dijkstraCost {b:.2f} s, "
            f"ratio {a / b:.1f}; {frame['minutes'].notna().sum()} pairs reachable"
        )


if __name__ == "__main__":
    main()
