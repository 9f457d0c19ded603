"""Evacuation to shelters with capacity: people at origins assigned to shelters so that as
many as possible are sheltered and, among such assignments, the total door-to-door travel
time is least — an exact min-cost max-flow (networkx network simplex) on the OD times.

The flow network is source -> origin (its people) -> shelter (every reachable pair, time in
whole milliseconds: network simplex needs integer weights; 0.5 ms per person at most) ->
sink (the shelter's capacity). People left over are reported as unassigned, with why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from layers.errors import InvalidParameter
from spatial.geodesy import STORAGE_CRS
from spatial.routing_matrix import (
    Places,
    Router,
    door_matrix,
    door_to_door_line,
    network_paths,
)

Flow = dict[tuple[int, int], int]  # (origin index, shelter index) -> people


def counts(places: Places, field: str, input_name: str) -> list[int]:
    """Whole people (or places) per feature from a numeric field; a missing value is 0."""
    if field not in places.frame.columns:
        fields = [c for c in places.frame.columns if c not in ("fid", "geometry")]
        raise InvalidParameter(f"{input_name}: no field '{field}'; its fields: {fields}")
    values = pd.to_numeric(places.frame[field], errors="coerce")
    bad = places.frame[field].notna() & values.isna()
    if bad.any() or (values < 0).any():
        fid = int(places.frame["fid"][bad | (values < 0)].iloc[0])
        raise InvalidParameter(
            f"{input_name}: '{field}' of feature {fid} is not a count (a number >= 0)"
        )
    return [round(float(v)) for v in values.fillna(0)]


def assign(seconds: NDArray[np.float64], people: Sequence[int], capacity: Sequence[int]) -> Flow:
    """The min-cost max-flow assignment (NaN seconds: no route between that pair)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(["source", "sink"])
    for i, count in enumerate(people):
        graph.add_edge("source", ("o", i), capacity=count, weight=0)
    for j, room in enumerate(capacity):
        graph.add_edge(("s", j), "sink", capacity=room, weight=0)
    for i, j in zip(*np.nonzero(np.isfinite(seconds)), strict=True):
        graph.add_edge(("o", int(i)), ("s", int(j)), weight=round(seconds[i, j] * 1000))
    flow = nx.max_flow_min_cost(graph, "source", "sink")
    moved: Flow = {}
    for i in range(len(people)):
        for (_, j), count in flow.get(("o", i), {}).items():
            if count > 0:
                moved[(i, j)] = int(count)
    return moved


def evacuate(
    router: Router,
    origins: Places,
    people: list[int],
    shelters: Places,
    capacity: list[int],
    routes: bool,
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, Any]]:
    door = door_matrix(router, origins, shelters)
    flow = assign(door, people, capacity)
    pairs = {(origins.nodes[i], shelters.nodes[j]) for i, j in flow}
    paths = network_paths(router.conn, router.net, pairs, geometry=routes)
    rows, lines = [], []
    for (i, j), moved in sorted(flow.items()):
        path = paths[(origins.nodes[i], shelters.nodes[j])]
        metres = path.metres + origins.leg_m[i] + shelters.leg_m[j]
        rows.append((origins.fids[i], shelters.fids[j], moved, door[i, j] / 60, metres))
        lines.append(door_to_door_line(origins, i, shelters, j, path.line if routes else None))
    columns = ["origin_fid", "shelter_fid", "people", "minutes", "metres"]
    assignments = gpd.GeoDataFrame(rows, columns=columns, geometry=lines, crs=STORAGE_CRS)
    frames = {
        "assignments": assignments,
        "origins": _origins_frame(origins, people, flow, door),
        "shelters": _shelters_frame(shelters, capacity, flow),
    }
    return frames, _summary(assignments, sum(people))


def _origins_frame(
    origins: Places, people: list[int], flow: Flow, door: NDArray[np.float64]
) -> gpd.GeoDataFrame:
    sent = np.zeros(len(people), dtype=int)
    for (i, _), moved in flow.items():
        sent[i] += moved
    reasons: list[str | None] = []
    for i, count in enumerate(people):
        if sent[i] == count:
            reasons.append(None)
        elif not np.isfinite(door[i]).any():
            reasons.append(origins.off_network(i) or "no shelter can be reached by open roads")
        else:
            reasons.append("the shelters reachable from here are full")
    return gpd.GeoDataFrame(
        {
            "fid": origins.fids,
            "people": people,
            "assigned": sent,
            "unassigned": np.array(people) - sent,
            "reason": reasons,
        },
        geometry=gpd.points_from_xy(*zip(*origins.at, strict=True)),
        crs=STORAGE_CRS,
    )


def _shelters_frame(shelters: Places, capacity: list[int], flow: Flow) -> gpd.GeoDataFrame:
    used = np.zeros(len(capacity), dtype=int)
    for (_, j), moved in flow.items():
        used[j] += moved
    return gpd.GeoDataFrame(
        {"fid": shelters.fids, "capacity": capacity, "assigned": used},
        geometry=gpd.points_from_xy(*zip(*shelters.at, strict=True)),
        crs=STORAGE_CRS,
    )


def _summary(assignments: gpd.GeoDataFrame, total: int) -> dict[str, Any]:
    assigned = int(assignments["people"].sum())
    person_minutes = float((assignments["people"] * assignments["minutes"]).sum())
    return {
        "people": total,
        "assigned": assigned,
        "unassigned": total - assigned,
        "person_minutes": round(person_minutes, 3),
        "mean_minutes": round(person_minutes / assigned, 3) if assigned else None,
        "max_minutes": round(float(assignments["minutes"].max()), 3) if assigned else None,
    }
