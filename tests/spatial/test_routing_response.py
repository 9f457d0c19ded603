"""Routing for response against independent computations: networkx shortest paths on the
same roads (door to door, within 1 %), a closed bridge, and evacuation against an LP solved
by scipy (HiGHS) on networkx times (issue 17, add 4)."""

from __future__ import annotations

import itertools
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from psycopg import sql
from pyproj import Geod
from scipy.optimize import linprog

from layers.errors import InvalidParameter, PayloadTooLarge
from spatial import DEFAULT_REGISTRY, Context
from spatial.network import DEFAULT_LEG_SPEED_KMH, ensure_network
from spatial.routing_matrix import NOT_CONNECTED
from tests.spatial.conftest import GRID_SPEED_KMH, grid_node, grid_roads, publish_frame
from tests.spatial.test_isochrones import road_graph

GEOD = Geod(ellps="GRS80")
LEG = DEFAULT_LEG_SPEED_KMH / 3.6
BRIDGE = shapely.LineString([grid_node(2, 0), (113.55, 22.80)])  # joins the two banks
CLOSED = shapely.LineString([(113.535, 22.79), (113.535, 22.81)])  # across the bridge


def _points(coords: list[tuple[float, float]], **fields: list[float]) -> dict[str, Any]:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(xy)},
            "properties": {k: v[i] for k, v in fields.items()},
        }
        for i, xy in enumerate(coords)
    ]
    return {"features": {"type": "FeatureCollection", "features": features}}


def _door_to_door(
    graph: nx.MultiGraph, where: dict[Any, Any], a: Any, b: Any
) -> tuple[float, float]:
    """networkx: (seconds, metres) from point a to point b via their geodesically nearest nodes."""
    na = min(where, key=lambda k: GEOD.inv(*a, *where[k])[2])
    nb = min(where, key=lambda k: GEOD.inv(*b, *where[k])[2])
    legs = GEOD.inv(*a, *where[na])[2] + GEOD.inv(*b, *where[nb])[2]
    path = nx.dijkstra_path(graph, na, nb, weight="seconds")
    steps = [
        min(graph[u][v].values(), key=lambda e: e["seconds"]) for u, v in itertools.pairwise(path)
    ]
    return sum(e["seconds"] for e in steps) + legs / LEG, sum(e["metres"] for e in steps) + legs


def test_od_matrix_matches_networkx_door_to_door(ctx: Context) -> None:
    origins = [(113.3245, 23.1064), (113.40, 22.95), (113.26, 23.13)]
    ends = [(113.50, 23.10), (113.33, 23.25), (113.05, 22.90)]  # the last: 8.7 km off-road
    result = DEFAULT_REGISTRY.get("od-cost-matrix").execute(
        {"roads": {"collection": "synthetic-roads"}}
        | {"origins": _points(origins), "destinations": _points(ends)},
        ctx,
    )
    matrix = result.values["matrix"]
    graph, where = road_graph(ctx)
    for i, a in enumerate(origins):
        for j, b in enumerate(ends[:2]):
            seconds, metres = _door_to_door(graph, where, a, b)
            assert matrix["minutes"][i][j] == pytest.approx(seconds / 60, rel=0.01), (i, j)
            assert matrix["metres"][i][j] == pytest.approx(metres, rel=0.01), (i, j)
        assert matrix["minutes"][i][2] is None and matrix["metres"][i][2] is None
    reasons = result.features["pairs"]["reason"]
    assert (
        reasons[result.features["pairs"]["destination_fid"] == 3]
        .str.contains("destination 3 is 8.7 km from the nearest open road node")
        .all()
    )
    assert reasons[result.features["pairs"]["destination_fid"] < 3].isna().all()


@pytest.fixture(scope="module")
def bridge_roads(spatial_url: str) -> str:
    """Two 2 x 2-block banks (0.01° blocks, 10 m/s) joined by one 3 km bridge."""
    west = grid_roads().cx[:113.52, :22.82].geometry
    east = west.translate(xoff=0.05)
    lines = [*west, *east, BRIDGE]
    frame = gpd.GeoDataFrame({"speed_kmh": [GRID_SPEED_KMH] * len(lines)}, geometry=lines, crs=4490)
    publish_frame(spatial_url, "test-bridge-roads", frame)
    return spatial_url


def test_a_barrier_on_the_only_bridge_makes_the_far_bank_unreachable(
    bridge_roads: str, ctx: Context
) -> None:
    west, east = (113.50, 22.80), (113.56, 22.81)
    closed = {
        "features": {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(CLOSED)}
            ],
        }
    }
    base: dict[str, Any] = {"roads": {"collection": "test-bridge-roads"}}
    places = {"origins": _points([west]), "destinations": _points([east, (113.51, 22.81)])}
    edges = _edge_count(ctx)
    od = DEFAULT_REGISTRY.get("od-cost-matrix")
    open_run = od.execute(base | places, ctx).values["matrix"]
    assert None not in open_run["minutes"][0]
    closed_run = od.execute(base | places | {"barriers": closed}, ctx)
    assert closed_run.values["matrix"]["minutes"][0][0] is None  # across: gone
    assert closed_run.values["matrix"]["minutes"][0][1] == open_run["minutes"][0][1]
    assert "no open road connects" in closed_run.features["pairs"]["reason"].iloc[0]
    assert _edge_count(ctx) == edges  # the shared network is untouched
    # The same rule in the older processes: both test hospitals lie beyond the bridge.
    route = DEFAULT_REGISTRY.get("route-to-nearest")
    to_hospital = base | {
        "location": list(west),
        "facilities": {"collection": "test-grid-hospitals"},
    }
    assert route.execute(to_hospital, ctx).features["route"]["end_node"].iloc[0] > 0
    with pytest.raises(InvalidParameter, match="can be reached"):
        route.execute(to_hospital | {"barriers": closed}, ctx)
    area = DEFAULT_REGISTRY.get("service-area").execute(
        base | {"location": list(west), "minutes": [30], "barriers": closed}, ctx
    )
    assert area.features["areas"].geometry.iloc[0].bounds[2] < 113.535  # stays on its bank


def _edge_count(ctx: Context) -> int:
    net = ensure_network(ctx.connection(), ctx.layer("test-bridge-roads"), None)
    row = ctx.connection().execute(sql.SQL("SELECT count(*) FROM {}").format(net.edges)).fetchone()
    assert row is not None
    return int(row[0])


def test_evacuation_equals_an_lp_optimum_and_reports_the_unsheltered(ctx: Context) -> None:
    """Grid case: nearest-first would send A to X and B the long way to Y (1 + 3 blocks);
    the optimum sends A to Y and B to X. C's 50 are left over (room for 200 of 250), the
    island shelter is unreachable."""
    lift = 0.001  # each place 111 m north of its node: access legs count
    at = [grid_node(1, 0), grid_node(0, 1), grid_node(4, 4)]
    shelters_at = [grid_node(0, 0), grid_node(2, 0), (113.81, 22.80)]
    people, rooms = [100, 100, 50], [100, 100, 1000]
    inputs = {
        "roads": {"collection": "test-grid-roads"},
        "origins": _points([(x, y + lift) for x, y in at], population=people),
        "shelters": _points([(x, y + lift) for x, y in shelters_at], capacity=rooms),
    }
    result = DEFAULT_REGISTRY.get("evacuation").execute(inputs, ctx)
    flows = result.features["assignments"].set_index(["origin_fid", "shelter_fid"])["people"]
    assert flows.to_dict() == {(1, 2): 100, (2, 1): 100}
    # The reference: networkx times on the same roads, the transportation LP by HiGHS.
    graph = nx.Graph()
    for line in grid_roads().geometry[:-1]:
        a, b = line.coords[0], line.coords[-1]
        graph.add_edge(a, b, seconds=GEOD.geometry_length(line) / (GRID_SPEED_KMH / 3.6))
    leg = GEOD.inv(0, 0, 0, lift)[2] / LEG
    cost = np.array(
        [
            [
                nx.dijkstra_path_length(graph, a, b, weight="seconds") + 2 * leg
                for b in shelters_at[:2]
            ]
            for a in at
        ]
    )
    lp = linprog(
        cost.ravel(),
        A_ub=np.kron(np.eye(3), np.ones(2)),  # from each origin at most its people
        b_ub=people,
        A_eq=np.vstack([np.tile(np.eye(2), 3)]),  # each shelter filled: 200 < 250 people
        b_eq=rooms[:2],
        method="highs",
    )
    summary = result.values["summary"]
    assert summary["person_minutes"] == pytest.approx(lp.fun / 60, rel=0.01)
    assert (summary["assigned"], summary["unassigned"]) == (200, 50)
    origins = result.features["origins"].set_index("fid")
    assert origins.loc[3, "unassigned"] == 50
    assert origins.loc[3, "reason"] == "the shelters reachable from here are full"
    assert result.features["shelters"].set_index("fid").loc[3, "assigned"] == 0


def test_closest_n_ranks_by_network_time_and_draws_routes(ctx: Context) -> None:
    incidents = [grid_node(0, 0), grid_node(4, 3)]
    facilities = [grid_node(1, 0), grid_node(0, 3), grid_node(4, 4), grid_node(2, 2)]
    result = DEFAULT_REGISTRY.get("closest-facilities").execute(
        {"roads": {"collection": "test-grid-roads"}, "n": 2}
        | {"incidents": _points(incidents), "facilities": _points(facilities)},
        ctx,
    )
    closest = result.features["closest"]
    ranked = closest.groupby("incident_fid")["facility_fid"].apply(list).to_dict()
    assert ranked == {1: [1, 2], 2: [3, 4]}  # 1 and 3 blocks (4 to the 4th); 1 and 3 blocks
    first = closest.iloc[0]
    assert first["metres"] == pytest.approx(GEOD.inv(*incidents[0], *facilities[0])[2], rel=1e-6)
    assert first.geometry.length > 0 and result.values["unreached"] == []


def test_a_matrix_beyond_its_bound_is_a_413_before_routing(ctx: Context) -> None:
    many = _points([grid_node(i % 5, 0) for i in range(201)])
    with pytest.raises(PayloadTooLarge, match="origins: 201 origin features, at most 200"):
        DEFAULT_REGISTRY.get("od-cost-matrix").execute(
            {"roads": {"collection": "test-grid-roads"}, "origins": many, "destinations": many},
            ctx,
        )


def test_od_matrix_shared_nodes_and_reasons_on_the_grid(ctx: Context) -> None:
    """Places sharing a node, an origin off the network (its reason wins over the
    destination's), an island and an off-road destination; reached pairs as networkx."""
    lift = 0.001  # 111 m north of the node: a leg to count
    origins = [(113.50, 22.80 + lift), (113.53, 22.82 + lift), (113.20, 22.50)]
    ends = [(113.50, 22.80 + lift), (113.54, 22.84 + lift), (113.81, 22.80 + lift)]
    ends.append((113.90, 22.50))  # 50 km from any road
    result = DEFAULT_REGISTRY.get("od-cost-matrix").execute(
        {"roads": {"collection": "test-grid-roads"}}
        | {"origins": _points(origins), "destinations": _points(ends)},
        ctx,
    )
    graph = nx.Graph()
    for line in grid_roads().geometry[:-1]:
        graph.add_edge(line.coords[0], line.coords[-1], metres=GEOD.geometry_length(line))
    pairs = result.features["pairs"].set_index(["origin_fid", "destination_fid"])
    for i, j in itertools.product(range(2), range(2)):
        a, b = (origins[i][0], origins[i][1] - lift), (ends[j][0], ends[j][1] - lift)
        legs_m = GEOD.inv(*origins[i], *a)[2] + GEOD.inv(*ends[j], *b)[2]
        net_m = nx.dijkstra_path_length(graph, a, b, weight="metres")
        expected = (net_m / (GRID_SPEED_KMH / 3.6) + legs_m / LEG) / 60
        assert pairs.loc[(i + 1, j + 1), "minutes"] == pytest.approx(expected, rel=1e-6)
        assert pairs.loc[(i + 1, j + 1), "metres"] == pytest.approx(net_m + legs_m, rel=1e-6)
        assert net_m > 0 or (i, j) == (0, 0)  # the first pair shares its node: legs only
    minutes = result.values["matrix"]["minutes"]
    assert minutes[1][1] == round(pairs.loc[(2, 2), "minutes"], 3)
    reasons = pairs["reason"]
    assert reasons.loc[(1, 3)] == reasons.loc[(2, 3)] == NOT_CONNECTED  # the island
    assert reasons.loc[(1, 4)].startswith("destination 4 is ")
    assert all(reasons.loc[(3, j)].startswith("origin 3 is ") for j in range(1, 5))
    assert reasons.loc[[(1, 1), (1, 2), (2, 1), (2, 2)]].isna().all()
    assert [m is None for m in minutes[2]] == [True] * 4
