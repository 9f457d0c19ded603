"""Routable networks of published road layers and shortest routes over them, with pgRouting
(drive-time areas: ``spatial.isochrones``).

The routable network (edges + nodes) is built on first use from the layer's current version
table and kept in schema ``onemap_net`` under a name derived from that table and from every
parameter that changes the network (the speed field), so a new version of the road layer,
or another speed field, gets a network of its own. After a catalog change, the networks of
superseded versions are dropped (``drop_superseded_networks``, a catalog subscriber of the app).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

import geopandas as gpd
import psycopg
import shapely
from psycopg import sql

from layers.catalog import Catalog, Layer
from layers.errors import DatabaseUnavailable, InvalidParameter
from layers.features import table_of
from layers.platform import STORAGE_SRID
from spatial.errors import LINEAR, check_geometry_types
from spatial.geodesy import STORAGE_CRS
from spatial.sqlparts import row_conditions

SCHEMA = "onemap_net"
DEFAULT_SPEED_KMH = 40.0
# Off the network (start -> road, road -> facility) a vehicle moves slowly: yards, lanes.
DEFAULT_LEG_SPEED_KMH = 15.0
MAX_SNAP_M = 5_000.0  # a start farther than this from any road is almost surely a mistake
MAX_MINUTES = 180.0


def load_sql(name: str) -> str:
    text = (resources.files("spatial") / "sql" / f"{name}.sql").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith("--"))


@dataclass(frozen=True)
class Network:
    edges: sql.Identifier
    nodes: sql.Identifier

    def edges_sql(self, conn: psycopg.Connection) -> str:
        """The edge query pgRouting runs, as text (names quoted by psycopg)."""
        return sql.SQL("SELECT id, source, target, cost FROM {}").format(self.edges).as_string(conn)


def _digest(text: str, n: int) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:n]


def network_names(layer: Layer, speed: str) -> tuple[str, str]:
    """Table names: 12 hex digits of the version table, 8 of the speed parameter."""
    key = f"{_digest(layer.table_name, 12)}_{_digest(speed, 8)}"
    return f"edges_{key}", f"nodes_{key}"


def ensure_pgrouting(conn: psycopg.Connection) -> None:
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pgrouting'").fetchone():
        return
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
    except psycopg.Error as exc:
        raise DatabaseUnavailable(
            "routing needs the pgrouting extension, which this database lacks "
            f"({exc.diag.message_primary or exc}); install postgresql-15-pgrouting and run "
            "CREATE EXTENSION pgrouting"
        ) from exc


def ensure_network(
    conn: psycopg.Connection, layer: Layer, speed_field: str | None, clip: bytes | None = None
) -> Network:
    """The network of the layer's current version, built once (concurrent callers wait).

    With ``clip`` (an area-limited caller's areas, ``Context.clip``) it is built from the
    roads in those areas only, and kept under a name of its own: a clipped caller never
    routes over roads they may not read, and never shares a network with one who may."""
    check_geometry_types(f"layer '{layer.id}'", [layer.geometry_type or ""], LINEAR)
    speed, speed_key = _speed_expression(layer, speed_field)  # a bad field: 400 first
    ensure_pgrouting(conn)
    if clip is not None:  # the parameter part of the name: speed and areas
        speed_key += f"|clip:{hashlib.sha1(clip).hexdigest()}"
    edges_name, nodes_name = network_names(layer, speed_key)
    network = Network(sql.Identifier(SCHEMA, edges_name), sql.Identifier(SCHEMA, nodes_name))
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (edges_name,))
        exists = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{edges_name}",)).fetchone()
        if exists and exists[0] is not None:
            return network
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
        conn.execute(
            sql.SQL(load_sql("build_network")).format(
                edges=network.edges,
                nodes=network.nodes,
                source=table_of(layer),
                where=_where(row_conditions(None, None, clip)),
                speed=speed,
                layer=sql.Literal(layer.id),
                srid=sql.Literal(STORAGE_SRID),
            )
        )
        _drop_stale_networks(conn, layer.id, _digest(layer.table_name, 12))
    return network


def drop_superseded_networks(conn: psycopg.Connection, catalog: Catalog) -> None:
    """After a catalog change: networks of road-layer versions no longer current, and of
    layers that are gone, are dropped (networks of the current version stay)."""
    for (layer_id,) in conn.execute(load_sql("network_layers")).fetchall():
        layer = catalog.layers.get(layer_id)
        current = _digest(layer.table_name, 12) if layer is not None else ""
        _drop_stale_networks(conn, layer_id, current)


def _drop_stale_networks(conn: psycopg.Connection, layer_id: str, version_key: str) -> None:
    """A new version of the road layer replaces the networks of the previous one."""
    params = {"layer": layer_id, "version_key": version_key}
    for (name,) in conn.execute(load_sql("stale_networks"), params).fetchall():
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SCHEMA, name)))


def _speed_expression(layer: Layer, speed_field: str | None) -> tuple[sql.Composable, str]:
    """The speed (km/h) of each line as SQL, and a key naming it for the network's name."""
    name = (
        speed_field
        if speed_field is not None
        else ("speed_kmh" if layer.field("speed_kmh") else None)
    )
    if name is None:
        return sql.Literal(DEFAULT_SPEED_KMH), f"constant:{DEFAULT_SPEED_KMH}"
    info = layer.field(name)
    if info is None:
        numeric = [f.name for f in layer.fields if f.type in ("integer", "number")]
        raise InvalidParameter(
            f"speed_field: '{name}' is not a field of '{layer.id}'; its numeric fields: {numeric}"
        )
    if info.type not in ("integer", "number"):
        raise InvalidParameter(
            f"speed_field: '{name}' of '{layer.id}' is {info.type}, not a number of km/h"
        )
    expression = sql.SQL("COALESCE({}, {})").format(
        sql.Identifier(name), sql.Literal(DEFAULT_SPEED_KMH)
    )
    return expression, f"field:{name}"


def nearest_node(
    conn: psycopg.Connection, net: Network, lon: float, lat: float
) -> tuple[int, float, tuple[float, float]]:
    """The road node nearest (lon, lat): its id, its ellipsoidal distance (m), where it is."""
    row = conn.execute(
        sql.SQL(load_sql("nearest_node")).format(nodes=net.nodes),
        {"lon": lon, "lat": lat, "srid": STORAGE_SRID},
    ).fetchone()
    if row is None:
        raise InvalidParameter("the road network has no nodes")
    if row[1] > MAX_SNAP_M:
        raise InvalidParameter(
            f"location: the start ({lon:.5f}, {lat:.5f}) is {row[1] / 1000:.1f} km from the "
            f"nearest road node; give a location within {MAX_SNAP_M / 1000:.0f} km of the network"
        )
    return int(row[0]), float(row[1]), (float(row[2]), float(row[3]))


def _where(conditions: list[sql.Composable]) -> sql.Composable:
    return sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")


@dataclass(frozen=True)
class Target:
    """A facility as routing sees it: its road node and the egress leg from that node."""

    fid: int
    node: int
    egress_m: float
    at: tuple[float, float]  # the facility (a point on its surface)
    node_at: tuple[float, float]


def route_to_nearest(
    conn: psycopg.Connection,
    net: Network,
    facilities: Layer,
    lon: float,
    lat: float,
    within: shapely.Geometry | None = None,
    condition: sql.Composable | None = None,
    clip: bytes | None = None,
    leg_speed_kmh: float = DEFAULT_LEG_SPEED_KMH,
) -> gpd.GeoDataFrame:
    """The fastest route from (lon, lat) to the facility reached soonest, door to door: the
    access leg (start -> its road node) and the egress leg (a facility's road node -> the
    facility), straight and at ``leg_speed_kmh``, count in the choice, the time, the length
    and the drawn line, beside the network part.

    ``within`` and ``condition`` (a compiled CQL2 filter) choose among the facilities;
    ``clip`` is the caller's areas in the facilities layer (``Context.clip``).
    """
    start, access_m, start_at = nearest_node(conn, net, lon, lat)
    targets = _targets(conn, net, facilities, within, condition, clip)
    edges_sql = net.edges_sql(conn)
    network_s = {start: 0.0}
    reachable = [node for node in targets if node != start]
    if reachable:
        costs = conn.execute(
            load_sql("route_costs"), {"edges_sql": edges_sql, "start": start, "targets": reachable}
        ).fetchall()
        network_s |= {int(node): float(cost) for node, cost in costs}
    leg_speed = leg_speed_kmh / 3.6
    choices = [
        (network_s[n] + t.egress_m / leg_speed, n) for n, t in targets.items() if n in network_s
    ]
    if not choices:
        raise InvalidParameter(
            f"location: no facility of '{facilities.id}' can be reached from road node "
            f"{start}: that part of the network is not connected to any facility; "
            "choose another start"
        )
    end = min(choices)[1]
    target = targets[end]
    network_line, network_m = _network_part(conn, net, edges_sql, start, end)
    legs = [shapely.LineString([(lon, lat), start_at]), network_line]
    legs.append(shapely.LineString([target.node_at, target.at]))
    seconds = network_s[end] + (access_m + target.egress_m) / leg_speed
    return gpd.GeoDataFrame(
        {
            "facility_fid": [target.fid],
            "seconds": [seconds],
            "minutes": [seconds / 60],
            "length_m": [access_m + network_m + target.egress_m],
            "network_m": [network_m],
            "network_seconds": [network_s[end]],
            "access_m": [access_m],
            "egress_m": [target.egress_m],
            "start_node": [start],
            "end_node": [end],
        },
        geometry=[shapely.MultiLineString([leg for leg in legs if not leg.is_empty])],
        crs=STORAGE_CRS,
    )


def _targets(
    conn: psycopg.Connection,
    net: Network,
    facilities: Layer,
    within: shapely.Geometry | None,
    condition: sql.Composable | None,
    clip: bytes | None,
) -> dict[int, Target]:
    """The chosen facilities by road node (of several on one node, the closest to it)."""
    where = _where(row_conditions(condition, within, clip))
    statement = sql.SQL(load_sql("facility_nodes")).format(
        facilities=table_of(facilities), nodes=net.nodes, where=where
    )
    rows = conn.execute(statement).fetchall()
    if not rows:
        raise InvalidParameter(f"facilities: '{facilities.id}' has no facility in the chosen area")
    targets: dict[int, Target] = {}
    for fid, node, snap_m, x, y, nx, ny in sorted(rows, key=lambda r: (r[2], r[0])):
        targets.setdefault(int(node), Target(int(fid), int(node), float(snap_m), (x, y), (nx, ny)))
    return targets


def _network_part(
    conn: psycopg.Connection, net: Network, edges_sql: str, start: int, end: int
) -> tuple[shapely.Geometry, float]:
    """The network route between two nodes and its length (none when they are one node)."""
    if start == end:
        return shapely.LineString(), 0.0
    row = conn.execute(
        sql.SQL(load_sql("route")).format(edges=net.edges),
        {"edges_sql": edges_sql, "start": start, "end": end},
    ).fetchone()
    assert row is not None
    return shapely.from_wkb(bytes(row[0])), float(row[2])
