"""Network isochrones: the roads reachable within each time band, as corridors.

From the location, the access leg to the nearest road node is travelled in a straight line
at the off-network speed (as ``route_to_nearest`` does); what is left of a band is the
network budget. pgr_drivingDistance gives every reached node its seconds; each edge is then
reached from either end by the fraction of its cost that is left there, and cut at it
(``reached_edges.sql``). The reached pieces, with the part of the access leg a band covers,
are buffered geodesically by the corridor half-width, so a band is never empty: at worst it
is the start's own corridor. Bands are nested by construction (a later band holds the
earlier ones).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import psycopg
import shapely
from psycopg import sql

from layers.errors import InvalidParameter
from layers.platform import STORAGE_SRID
from spatial.geodesy import GEOD, STORAGE_CRS, aeqd_proj, geodesic_buffer
from spatial.network import (
    DEFAULT_LEG_SPEED_KMH,
    MAX_MINUTES,
    Network,
    load_sql,
    nearest_node,
)

DEFAULT_CORRIDOR_M = 100.0  # either side of a reached road: a street frontage
MAX_CORRIDOR_M = 5_000.0
CORRIDOR_QUAD_SEGS = 8  # round ends to 0.5 % of the width: hundreds of km of road stay fast


def service_areas(
    conn: psycopg.Connection,
    net: Network,
    lon: float,
    lat: float,
    minutes: Sequence[float],
    corridor_m: float = DEFAULT_CORRIDOR_M,
    leg_speed_kmh: float = DEFAULT_LEG_SPEED_KMH,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """One corridor polygon per band, and every reached node with its time (s) from the
    location (access leg included)."""
    bands = sorted({float(m) for m in minutes})
    if not bands or bands[0] <= 0 or bands[-1] > MAX_MINUTES:
        raise InvalidParameter(f"minutes: must be in (0, {MAX_MINUTES:g}], got {list(minutes)}")
    if not 0 < corridor_m <= MAX_CORRIDOR_M:
        raise InvalidParameter(f"corridor_m: must be in (0, {MAX_CORRIDOR_M:g}], got {corridor_m}")
    start, snap_m, node_at = nearest_node(conn, net, lon, lat)
    access_s = snap_m / (leg_speed_kmh / 3.6)
    budgets = [b * 60 - access_s for b in bands]
    nodes = _reached_nodes(conn, net, start, budgets[-1])
    reached = _reached_edges(conn, net, nodes, budgets, aeqd_proj(lon, lat))
    areas, previous = [], shapely.Polygon()
    for i, (band, budget) in enumerate(zip(bands, budgets, strict=True), start=1):
        reached_m, lines = reached.get(i, (0.0, shapely.MultiLineString()))
        covered = min(1.0, band * 60 / access_s) if access_s > 0 else 1.0
        access = _access_leg(lon, lat, node_at, covered)
        reached_lines = np.array([shapely.union_all([lines, access])])
        corridor = geodesic_buffer(reached_lines, corridor_m, quad_segs=CORRIDOR_QUAD_SEGS)
        previous = shapely.union(previous, corridor[0])  # nested whatever the float rounding
        areas.append((int((nodes["seconds"] <= budget).sum()), reached_m, previous))
    frame = gpd.GeoDataFrame(
        {
            "minutes": bands,
            "nodes": [a[0] for a in areas],
            "reached_m": [a[1] for a in areas],
            "start_node": start,
            "snap_m": snap_m,
            "access_s": access_s,
            "corridor_m": corridor_m,
        },
        geometry=[a[2] for a in areas],
        crs=STORAGE_CRS,
    )
    nodes["seconds"] += access_s
    return frame, nodes


def _reached_nodes(
    conn: psycopg.Connection, net: Network, start: int, budget: float
) -> gpd.GeoDataFrame:
    """Nodes reached within the network budget (s), with their network seconds."""
    rows = []
    if budget >= 0:
        params = {"edges_sql": net.edges_sql(conn), "start": start, "max_cost": budget}
        rows = conn.execute(load_sql("reachable_nodes"), params).fetchall()
    return gpd.GeoDataFrame(
        {"node": [int(r[0]) for r in rows], "seconds": [float(r[1]) for r in rows]}
    )


def _reached_edges(
    conn: psycopg.Connection,
    net: Network,
    nodes: gpd.GeoDataFrame,
    budgets: list[float],
    metric: str,
) -> dict[int, tuple[float, shapely.Geometry]]:
    """Per band (1-based): metres of road reached and the reached pieces."""
    if nodes.empty:
        return {}
    params = {
        "nodes": nodes["node"].tolist(),
        "costs": nodes["seconds"].tolist(),
        "budgets": budgets,
        "metric": metric,
        "srid": STORAGE_SRID,
    }
    statement = sql.SQL(load_sql("reached_edges")).format(edges=net.edges)
    rows = conn.execute(statement, params).fetchall()
    return {int(band): (float(m), shapely.from_wkb(bytes(wkb))) for band, m, wkb in rows}


def _access_leg(
    lon: float, lat: float, node_at: tuple[float, float], fraction: float
) -> shapely.Geometry:
    """The geodesic leg from the location towards its road node, as far as ``fraction``."""
    azimuth, _, distance = GEOD.inv(lon, lat, *node_at)
    if fraction <= 0 or distance == 0:
        return shapely.Point(lon, lat)
    if fraction >= 1:
        return shapely.LineString([(lon, lat), node_at])
    x, y, _ = GEOD.fwd(lon, lat, azimuth, distance * fraction)
    return shapely.LineString([(lon, lat), (x, y)])
