"""Closest-N facilities for many incidents, by door-to-door network time."""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from spatial.geodesy import STORAGE_CRS
from spatial.routing_matrix import (
    Pair,
    Places,
    Router,
    door_matrix,
    door_to_door_line,
    network_paths,
    unreachable_reason,
)

COLUMNS = ["incident_fid", "facility_fid", "rank", "minutes", "metres", "access_m", "egress_m"]


def closest_facilities(
    router: Router, incidents: Places, facilities: Places, n: int, routes: bool
) -> tuple[gpd.GeoDataFrame, list[dict[str, object]]]:
    """Per incident its ``n`` facilities reached soonest (rank 1 first; equal times in
    facility order), drawn as routes or as straight lines; and the incidents that reach none,
    with the reason."""
    door = door_matrix(router, incidents, facilities)
    chosen: list[tuple[int, int, int]] = []  # (incident, facility, rank)
    unreached: list[dict[str, object]] = []
    for i, row in enumerate(door):
        order = [int(j) for j in np.argsort(row, kind="stable") if np.isfinite(row[j])][:n]
        chosen += [(i, j, rank) for rank, j in enumerate(order, start=1)]
        if not order:
            reason = unreachable_reason(incidents, i, facilities, int(np.argmin(facilities.leg_m)))
            unreached.append({"incident_fid": incidents.fids[i], "reason": reason})
    pairs: set[Pair] = {(incidents.nodes[i], facilities.nodes[j]) for i, j, _ in chosen}
    paths = network_paths(router.conn, router.net, pairs, geometry=routes)
    rows, lines = [], []
    for i, j, rank in chosen:
        path = paths[(incidents.nodes[i], facilities.nodes[j])]
        legs_m = (incidents.leg_m[i], facilities.leg_m[j])
        metres = path.metres + sum(legs_m)
        rows.append((incidents.fids[i], facilities.fids[j], rank, door[i, j] / 60, metres, *legs_m))
        lines.append(door_to_door_line(incidents, i, facilities, j, path.line if routes else None))
    return gpd.GeoDataFrame(rows, columns=COLUMNS, geometry=lines, crs=STORAGE_CRS), unreached
