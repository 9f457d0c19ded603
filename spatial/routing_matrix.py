"""Door-to-door travel between many places over a routable network (pgRouting many to many).

Each place is snapped to its nearest road node; the access leg (origin -> its node) and the
egress leg (a destination's node -> the destination) are straight and at the off-network
speed, as in ``route_to_nearest``. A place farther than ``MAX_SNAP_M`` from every road is
not routed: its pairs are unreachable, with the reason, instead of failing the whole run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import psycopg
import shapely
from numpy.typing import NDArray
from psycopg import sql

from layers.errors import InvalidParameter, PayloadTooLarge
from layers.platform import STORAGE_SRID
from spatial.context import Context
from spatial.errors import about
from spatial.geodesy import STORAGE_CRS
from spatial.inputs import LayerInput, read_layer
from spatial.network import MAX_SNAP_M, Network, load_sql

MAX_PLACES = 200  # a side of a matrix: 200 x 200 pairs are seconds of pgRouting, not minutes
Pair = tuple[int, int]
NOT_CONNECTED = "no open road connects them (a barrier, or separate parts of the network)"
NO_LINE = shapely.LineString()  # shared by every path drawn without geometry (immutable)


@dataclass(frozen=True)
class Router:
    """What a run over many places routes with: its session, the network (barriers
    applied) and the off-network speed of the access and egress legs."""

    conn: psycopg.Connection
    net: Network
    leg_speed_kmh: float


@dataclass(frozen=True)
class Places:
    """Features snapped to the network: node 0 is 'farther than MAX_SNAP_M from any road'."""

    what: str  # "origin", "destination", ... for the reasons
    frame: gpd.GeoDataFrame
    at: list[tuple[float, float]]
    nodes: list[int]
    leg_m: list[float]
    node_at: list[tuple[float, float]]
    fids: list[int]  # the features' fids, in frame order

    def off_network(self, i: int) -> str | None:
        if self.nodes[i]:
            return None
        return (
            f"{self.what} {self.fids[i]} is {self.leg_m[i] / 1000:.1f} km from the nearest open "
            f"road node (at most {MAX_SNAP_M / 1000:.0f} km)"
        )


def read_places(
    ctx: Context, net: Network, spec: LayerInput, what: str, limit: int = MAX_PLACES
) -> Places:
    """The input's features (points, or a point on each surface) snapped to ``net``; more
    than ``limit`` is a 413 before any routing, none a 400 (both name the input)."""
    with about(spec.input_name):
        frame = read_layer(ctx, spec)
        if frame.empty:
            raise InvalidParameter(f"no {what} features were given or matched the filter")
        if len(frame) > limit:
            raise PayloadTooLarge(
                f"{spec.input_name}: {len(frame)} {what} features, at most {limit} in one run; "
                "narrow them (filter, adcode) or split the request"
            )
    return snap_places(ctx.connection(), net, frame, what)


def snap_places(
    conn: psycopg.Connection, net: Network, frame: gpd.GeoDataFrame, what: str
) -> Places:
    points = shapely.point_on_surface(frame.geometry.values)
    xs, ys = shapely.get_x(points).tolist(), shapely.get_y(points).tolist()
    statement = sql.SQL(load_sql("snap_points")).format(nodes=net.nodes)
    rows = conn.execute(statement, {"xs": xs, "ys": ys, "srid": STORAGE_SRID}).fetchall()
    if len(rows) != len(xs):
        raise InvalidParameter("roads: the road network has no open nodes")
    return Places(
        what,
        frame.reset_index(drop=True),
        list(zip(xs, ys, strict=True)),
        [int(r[1]) if r[2] <= MAX_SNAP_M else 0 for r in rows],
        [float(r[2]) for r in rows],
        [(float(r[3]), float(r[4])) for r in rows],
        [int(f) for f in frame["fid"]],
    )


def network_seconds(
    conn: psycopg.Connection, net: Network, starts: Places, ends: Places
) -> dict[Pair, float]:
    """Network seconds between the places' nodes (pgr_dijkstraCost many to many)."""
    a, b = sorted({n for n in starts.nodes if n}), sorted({n for n in ends.nodes if n})
    seconds: dict[Pair, float] = {(n, n): 0.0 for n in set(a) & set(b)}
    if a and b:
        params = {"edges_sql": net.edges_sql(conn), "starts": a, "ends": b}
        for s, t, cost in conn.execute(load_sql("od_costs"), params).fetchall():
            seconds[(int(s), int(t))] = float(cost)
    return seconds


@dataclass(frozen=True)
class Path:
    seconds: float
    metres: float
    line: shapely.Geometry


def network_paths(
    conn: psycopg.Connection, net: Network, pairs: set[Pair], geometry: bool
) -> dict[Pair, Path]:
    """The fastest path of each node pair (pgr_dijkstra combinations); unconnected: absent."""
    paths = {p: Path(0.0, 0.0, NO_LINE) for p in pairs if p[0] == p[1]}
    wanted = sorted(p for p in pairs if p[0] != p[1])
    if not wanted:
        return paths
    pairs_sql = sql.SQL(
        "SELECT source, target FROM unnest({}::bigint[], {}::bigint[]) AS c (source, target)"
    ).format(sql.Literal([p[0] for p in wanted]), sql.Literal([p[1] for p in wanted]))
    params = {
        "edges_sql": net.edges_sql(conn),
        "pairs_sql": pairs_sql.as_string(conn),
        "with_geometry": geometry,
    }
    statement = sql.SQL(load_sql("od_paths")).format(edges=net.edges)
    for s, t, seconds, metres, wkb in conn.execute(statement, params).fetchall():
        line = shapely.from_wkb(bytes(wkb)) if wkb is not None else NO_LINE
        paths[(int(s), int(t))] = Path(float(seconds), float(metres), line)
    return paths


def door_seconds(
    origins: Places, ends: Places, net_s: dict[Pair, float], leg_speed_kmh: float
) -> NDArray[np.float64]:
    """Door-to-door seconds, origins x destinations; NaN where no route exists."""
    speed = leg_speed_kmh / 3.6
    out = np.full((len(origins.nodes), len(ends.nodes)), np.nan)
    for i, a in enumerate(origins.nodes):
        for j, b in enumerate(ends.nodes):
            if a and b and (a, b) in net_s:
                out[i, j] = net_s[(a, b)] + (origins.leg_m[i] + ends.leg_m[j]) / speed
    return out


def door_matrix(router: Router, origins: Places, ends: Places) -> NDArray[np.float64]:
    """Door-to-door seconds between every origin and end (pgr_dijkstraCost many to many)."""
    net_s = network_seconds(router.conn, router.net, origins, ends)
    return door_seconds(origins, ends, net_s, router.leg_speed_kmh)


def unreachable_reason(origins: Places, i: int, ends: Places, j: int) -> str:
    return str(pair_reasons(origins, [i], ends, [j])[0, 0])


def pair_reasons(
    origins: Places, rows: Sequence[int], ends: Places, cols: Sequence[int]
) -> NDArray[np.object_]:
    """Why each pair rows x cols would be unreachable: the origin is off the network, else
    the end is, else no road connects them."""
    first = np.array([origins.off_network(i) for i in rows], dtype=object)
    then = np.array([ends.off_network(j) for j in cols], dtype=object)
    either = np.where(then == None, NOT_CONNECTED, then)[None, :]  # noqa: E711 (elementwise)
    return np.where((first == None)[:, None], either, first[:, None])  # noqa: E711


def door_to_door_line(
    origins: Places, i: int, ends: Places, j: int, network: shapely.Geometry | None
) -> shapely.Geometry:
    """The route drawn: access leg, network part, egress leg — or, without the network part,
    the straight line between the two places (a desire line)."""
    if network is None:
        return desire_lines(origins, [i], ends, [j])[0]
    legs = [shapely.LineString([origins.at[i], origins.node_at[i]]), network]
    legs.append(shapely.LineString([ends.node_at[j], ends.at[j]]))
    parts = shapely.get_parts([g for g in legs if not g.is_empty])
    return shapely.MultiLineString(list(shapely.get_parts(shapely.line_merge(parts))))


def od_matrix(
    router: Router, origins: Places, ends: Places
) -> tuple[gpd.GeoDataFrame, dict[str, object]]:
    """Every origin x destination pair: minutes and metres door to door (null with a reason
    when unreachable), as desire lines, and the same as a matrix.

    Routed once per distinct node pair; the places' pairs are then whole-array look-ups, so
    a 200 x 200 run costs its pgRouting call, not 40,000 Python steps."""
    net_s, net_m = _node_pair_costs(router, origins, ends)
    legs_m = np.add.outer(np.asarray(origins.leg_m), np.asarray(ends.leg_m))
    minutes = (net_s + legs_m / (router.leg_speed_kmh / 3.6)) / 60
    metres = net_m + legs_m
    rows, cols = range(len(origins.nodes)), range(len(ends.nodes))
    reasons = pair_reasons(origins, rows, ends, cols)
    reasons[~np.isnan(minutes)] = None
    frame = gpd.GeoDataFrame(
        {
            "origin_fid": np.repeat(origins.fids, len(ends.fids)),
            "destination_fid": np.tile(ends.fids, len(origins.fids)),
            "minutes": minutes.ravel(),
            "metres": metres.ravel(),
            "reason": reasons.ravel(),
        },
        geometry=desire_lines(origins, rows, ends, cols),
        crs=STORAGE_CRS,
    )
    matrix = {
        "origins": origins.fids,
        "destinations": ends.fids,
        "minutes": _nullable(minutes),
        "metres": _nullable(metres),
    }
    return frame, matrix


def _node_pair_costs(
    router: Router, origins: Places, ends: Places
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Network seconds and metres of every origin x end, through their nodes' fastest paths
    (NaN: off the network or not connected)."""
    starts, start_of = np.unique(origins.nodes, return_inverse=True)
    stops, stop_of = np.unique(ends.nodes, return_inverse=True)
    pairs = {(int(a), int(b)) for a in starts if a for b in stops if b}
    paths = network_paths(router.conn, router.net, pairs, geometry=False)
    row = {int(n): k for k, n in enumerate(starts)}
    col = {int(n): k for k, n in enumerate(stops)}
    seconds = np.full((len(starts), len(stops)), np.nan)
    metres = seconds.copy()
    for (a, b), path in paths.items():
        seconds[row[a], col[b]], metres[row[a], col[b]] = path.seconds, path.metres
    pick = np.ix_(start_of.ravel(), stop_of.ravel())
    return seconds[pick], metres[pick]


def desire_lines(
    origins: Places, rows: Sequence[int], ends: Places, cols: Sequence[int]
) -> NDArray[np.object_]:
    """The straight line between the places of every pair rows x cols, origin-major."""
    a, b = np.asarray(origins.at)[list(rows)], np.asarray(ends.at)[list(cols)]
    coords = np.empty((len(a), len(b), 2, 2))
    coords[:, :, 0], coords[:, :, 1] = a[:, None, :], b[None, :, :]
    return np.asarray(shapely.linestrings(coords.reshape(-1, 2, 2)), dtype=object)


def _nullable(values: NDArray[np.float64]) -> list[list[float | None]]:
    rounded = np.round(values, 3).astype(object)
    rounded[np.isnan(values)] = None
    return rounded.tolist()  # type: ignore[no-any-return]
