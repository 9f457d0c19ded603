"""Network isochrones against networkx on the same roads, and their corridors' geometry."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Geod

from spatial import DEFAULT_REGISTRY, Context
from spatial.inputs import LayerInput, read_layer
from spatial.network import DEFAULT_LEG_SPEED_KMH
from tests.spatial.conftest import grid_node

GEOD = Geod(ellps="GRS80")
TIANHE = [113.3245, 23.1064]  # 2.8 km from the nearest synthetic road node
SNAP = 1e-7  # the network's end-point grid (build_network.sql)


def _key(x: float, y: float) -> tuple[int, int]:
    return round(x / SNAP), round(y / SNAP)


def road_graph(ctx: Context) -> tuple[nx.MultiGraph, dict[tuple[int, int], tuple[float, float]]]:
    """synthetic-roads as a networkx graph: geodesic metres and seconds at speed_kmh."""
    roads = read_layer(ctx, LayerInput(collection="synthetic-roads")).explode(index_parts=False)
    graph: nx.MultiGraph = nx.MultiGraph()
    where = {}
    for line, speed in zip(roads.geometry, roads["speed_kmh"], strict=True):
        (ax, ay), (bx, by) = line.coords[0], line.coords[-1]
        a, b = _key(ax, ay), _key(bx, by)
        where[a], where[b] = (ax, ay), (bx, by)
        metres = GEOD.geometry_length(line)
        graph.add_edge(a, b, metres=metres, seconds=metres / (speed / 3.6))
    return graph, where


def reached_metres(graph: nx.MultiGraph, seconds: dict[object, float], budget: float) -> float:
    """Metres of road reached within ``budget`` s: from each end, what time is left of it."""
    total = 0.0
    for a, b, edge in graph.edges(data=True):
        ends = [max(0.0, budget - seconds.get(n, np.inf)) / edge["seconds"] for n in (a, b)]
        total += edge["metres"] * min(1.0, sum(ends))
    return total


def test_reached_road_lengths_match_networkx_and_bands_nest(ctx: Context) -> None:
    bands = [5, 15, 30, 45]
    result = DEFAULT_REGISTRY.get("service-area").execute(
        {"location": TIANHE, "roads": {"collection": "synthetic-roads"}, "minutes": bands}, ctx
    )
    areas = result.features["areas"].set_index("minutes")
    graph, where = road_graph(ctx)
    start = min(where, key=lambda k: GEOD.inv(*TIANHE, *where[k])[2])
    access_s = GEOD.inv(*TIANHE, *where[start])[2] / (DEFAULT_LEG_SPEED_KMH / 3.6)
    seconds = nx.single_source_dijkstra_path_length(graph, start, weight="seconds")
    previous = shapely.Polygon()
    for minutes in bands:
        expected = reached_metres(graph, seconds, minutes * 60 - access_s)
        band = areas.loc[float(minutes)]
        assert band["reached_m"] == pytest.approx(expected, rel=0.01, abs=1.0)
        assert not band.geometry.is_empty and band.geometry.contains(shapely.Point(TIANHE))
        assert shapely.difference(previous, band.geometry).area < 1e-12  # nested
        previous = band.geometry
    # The 5-minute band: the access leg (2.8 km at 15 km/h takes 11 min) covered part-way.
    assert areas.loc[5.0, "reached_m"] == 0 and areas.loc[45.0, "reached_m"] > 50_000


def test_a_corridor_is_its_half_width_either_side_of_the_reached_road(ctx: Context) -> None:
    """On the test grid (0.01° blocks, 10 m/s), one minute from node (0, 0) reaches 600 m
    along each of its two edges: 100 m beside the reached part is in, 120 m is out, and
    the road beyond the reached part is out."""
    result = DEFAULT_REGISTRY.get("service-area").execute(
        {"location": list(grid_node(0, 0)), "roads": {"collection": "test-grid-roads"}}
        | {"minutes": [1], "corridor_m": 100},
        ctx,
    )
    band = result.features["areas"].iloc[0]
    east, north = GEOD.inv(*grid_node(0, 0), *grid_node(1, 0)), grid_node(0, 1)
    x, y, _ = GEOD.fwd(*grid_node(0, 0), east[0], 300.0)  # 300 m along the eastward edge
    inside = GEOD.fwd(x, y, 0.0, 99.0)[:2]
    outside = GEOD.fwd(x, y, 0.0, 120.0)[:2]
    beyond = GEOD.fwd(*grid_node(0, 0), east[0], 720.0)[:2]
    assert band.geometry.contains(shapely.Point(inside))
    assert not band.geometry.contains(shapely.Point(outside))
    assert not band.geometry.contains(shapely.Point(beyond))
    assert band["reached_m"] == pytest.approx(2 * 600.0, rel=1e-3)
    assert band.geometry.contains(shapely.Point(north[0], north[1] - 0.005))  # 550 m north
