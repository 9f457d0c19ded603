"""Network isochrones (service-area's core, ``spatial.isochrones.service_areas``) against
networkx on the same graph: single_source_dijkstra_path_length with a cutoff, each edge cut
at the time left at its reached ends (shapely.substring), the pieces buffered by the corridor
in a local azimuthal equidistant plane (pyproj) — what a user would write by hand.

The roads are the generated city grid of ``bench/spatial_drive_time.py`` (160 × 160 streets,
50,880 edges), published into ONEMAP_DATABASE_URL (or a throw-away embedded cluster). Both
route from the grid's centre (a node: no access leg); the check is the metres of road reached
per band and the band polygons' areas.

    .venv/bin/python -m bench.spatial_isochrones [--side 160] [--runs 5]
"""

from __future__ import annotations

import argparse

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from shapely.ops import substring

from bench.best_of import best_of, report
from bench.spatial_drive_time import ORIGIN, STEP, streets_published
from layers.catalog import load_catalog
from layers.db import connect
from spatial.geodesy import GEOD, aeqd_proj
from spatial.isochrones import CORRIDOR_QUAD_SEGS, DEFAULT_CORRIDOR_M, service_areas
from spatial.network import ensure_network

BANDS = [5.0, 10.0, 15.0]
LAYER = "bench-iso-streets"


def road_graph(roads: gpd.GeoDataFrame) -> nx.Graph:
    """One edge per street between its rounded end points: geodesic metres and seconds, and
    the street's position in ``roads`` (its geometry, oriented from ``a``)."""
    graph = nx.Graph()
    for k, (line, speed) in enumerate(zip(roads.geometry, roads["speed_kmh"], strict=True)):
        a, b = (tuple(np.round(xy, 7)) for xy in (line.coords[0], line.coords[-1]))
        metres = GEOD.geometry_length(line)
        graph.add_edge(a, b, metres=metres, seconds=metres / (speed / 3.6), k=k, a=a)
    return graph


def by_hand(
    graph: nx.Graph, lines: NDArray[np.object_], start: tuple[float, float]
) -> list[tuple[float, float]]:
    """Per band: metres of road reached and the corridor's area (km², local plane): each
    reached piece buffered, the buffers unioned (the geopandas buffer + union_all way)."""
    to_local = Transformer.from_crs("EPSG:4490", aeqd_proj(*start), always_xy=True)
    local = shapely.transform(lines, lambda xy: np.column_stack(to_local.transform(*xy.T)))
    seconds = nx.single_source_dijkstra_path_length(
        graph, start, cutoff=BANDS[-1] * 60, weight="seconds"
    )
    out = []
    for band in BANDS:
        budget, pieces, reached = band * 60, [], 0.0
        for a, b, edge in graph.edges(data=True):
            head = max(0.0, budget - seconds.get(a, np.inf)) / edge["seconds"]
            tail = max(0.0, budget - seconds.get(b, np.inf)) / edge["seconds"]
            if head <= 0 and tail <= 0:
                continue
            line = local[edge["k"]] if edge["a"] == a else local[edge["k"]].reverse()
            reached += edge["metres"] * min(1.0, head + tail)
            if head + tail >= 1:
                pieces.append(line)
                continue
            if head > 0:
                pieces.append(substring(line, 0, head, normalized=True))
            if tail > 0:
                pieces.append(substring(line, 1 - tail, 1, normalized=True))
        buffers = shapely.buffer(np.array(pieces), DEFAULT_CORRIDOR_M, quad_segs=CORRIDOR_QUAD_SEGS)
        out.append((reached, shapely.union_all(buffers).area / 1e6))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=160)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with streets_published(args.side, LAYER) as (url, roads):
        centre = (
            round(ORIGIN[0] + STEP * (args.side // 2), 7),
            round(ORIGIN[1] + STEP * (args.side // 2), 7),
        )
        with connect(url, autocommit=True) as conn:
            net = ensure_network(conn, load_catalog(conn).get(LAYER), None)
            ours_s, (areas, _) = best_of(
                args.runs, lambda: service_areas(conn, net, *centre, BANDS)
            )
        graph, lines = road_graph(roads), roads.geometry.to_numpy()
        peer_s, peer = best_of(args.runs, lambda: by_hand(graph, lines, centre))
    ours_km2 = [float(a) / 1e6 for a in areas.to_crs(aeqd_proj(*centre)).area]
    metres = max(abs(m - p[0]) / p[0] for m, p in zip(areas["reached_m"], peer, strict=True))
    km2 = max(abs(a - p[1]) / p[1] for a, p in zip(ours_km2, peer, strict=True))
    reached = ", ".join(f"{p[0] / 1000:,.1f}" for p in peer)
    report(
        f"service area {'/'.join(f'{b:g}' for b in BANDS)} min, {len(roads):,} edges",
        ours_s,
        peer_s,
        "networkx + shapely",
        f"road reached {reached} km, max rel. diff {metres:.1e}; area max rel. diff {km2:.1e}",
    )


if __name__ == "__main__":
    main()
