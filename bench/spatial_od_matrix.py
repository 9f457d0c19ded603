"""OD cost matrix (od-cost-matrix's core, door to door with metres) against pgr_dijkstraCost
called directly on the same network and node sets, on the synthetic Guangdong roads. The
check: every reachable pair's network part (door-to-door minus the two legs) is the direct
call's cost of its node pair, and the pairs reachable are the same.

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
from spatial.routing_matrix import Places, Router, od_matrix, snap_places


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
        rows: list[tuple[int, int, float]] = []
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
            rows = conn.execute(load_sql("od_costs"), params).fetchall()
            direct.append(time.perf_counter() - t)
        a, b = min(ours), min(direct)
        print(
            f"{args.side} x {args.side}: od_matrix {a:.3f} s, pgr_dijkstraCost {b:.3f} s, "
            f"ratio {a / b:.1f}; {frame['minutes'].notna().sum()} pairs reachable; "
            f"max |network s - pgr_dijkstraCost| {agreement(frame, origins, ends, rows):.2e} s"
        )


def agreement(frame: gpd.GeoDataFrame, origins: Places, ends: Places, rows: list) -> float:
    """Largest difference of a reachable pair's network seconds from the direct call's."""
    cost = {(int(s), int(t)): float(c) for s, t, c in rows}
    minutes = frame["minutes"].to_numpy().reshape(len(origins.nodes), len(ends.nodes))
    legs = np.add.outer(origins.leg_m, ends.leg_m) / (15.0 / 3.6)
    worst = 0.0
    for i, a in enumerate(origins.nodes):
        for j, b in enumerate(ends.nodes):
            direct = 0.0 if a and a == b else cost.get((a, b), np.nan) if a and b else np.nan
            if np.isnan(direct) != np.isnan(minutes[i, j]):
                raise AssertionError(f"pair {i}, {j}: reachable in one and not the other")
            if not np.isnan(direct):
                worst = max(worst, abs(minutes[i, j] * 60 - legs[i, j] - direct))
    return worst


if __name__ == "__main__":
    main()
