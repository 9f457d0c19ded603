"""Closed roads (barriers) for one routing run, and the routable network every routing
process opens through the same rule.

Edges that intersect a barrier (a line or polygon: a closed bridge, a flooded district) are
left out of the run by temp views over the shared network (``barrier_views.sql``); the
network tables are never changed, so concurrent runs with other barriers are unaffected.
Snapping uses the nodes an open edge still reaches, so no start lands on a closed road.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import psycopg
import shapely
from psycopg import sql
from pydantic import Field

from layers.platform import STORAGE_SRID
from spatial.context import Context
from spatial.errors import LINEAR, POLYGONAL, about
from spatial.inputs import LayerInput, read_layer, vector_layer
from spatial.network import Network, ensure_network, load_sql

Barriers = Annotated[
    LayerInput | None,
    Field(
        description="Closed roads for this run: lines or polygons (a layer, or inline "
        "features); every road edge they touch is left out of the network",
    ),
]


@contextmanager
def routable_network(
    ctx: Context, roads: LayerInput, speed_field: str | None, barriers: LayerInput | None
) -> Iterator[Network]:
    """The network of a published line layer (errors name the input), without the edges
    the barriers touch; the run's views are dropped when the block ends."""
    layer = vector_layer(ctx, roads)
    with about(roads.input_name):
        net = ensure_network(ctx.connection(), layer, speed_field, ctx.clip(layer.id))
    if barriers is None:
        yield net
        return
    closed = read_layer(ctx, barriers, geometry=LINEAR + POLYGONAL).geometry.values
    with without_barriers(ctx.connection(), net, list(closed)) as open_net:
        yield open_net


@contextmanager
def without_barriers(
    conn: psycopg.Connection, net: Network, closed: list[shapely.Geometry]
) -> Iterator[Network]:
    """``net`` seen through this run's temp views: edges touching ``closed`` are gone."""
    suffix = secrets.token_hex(6)  # one run's names: concurrent runs never meet
    names = {k: sql.Identifier("pg_temp", f"{k}_{suffix}") for k in ("barriers", "open_edges")}
    names["open_nodes"] = sql.Identifier("pg_temp", f"open_nodes_{suffix}")
    statement = sql.SQL(load_sql("barrier_views")).format(
        edges=net.edges,
        nodes=net.nodes,
        wkbs=sql.Literal([shapely.to_wkb(g) for g in closed]),
        srid=sql.Literal(STORAGE_SRID),
        **names,
    )
    with conn.transaction():
        conn.execute(statement)
    try:
        yield Network(names["open_edges"], names["open_nodes"])
    finally:
        _drop(conn, names)


def _drop(conn: psycopg.Connection, names: dict[str, sql.Identifier]) -> None:
    """Temp objects die with the session anyway; a pooled session should not keep them."""
    drop = sql.SQL("DROP VIEW IF EXISTS {}, {}; DROP TABLE IF EXISTS {}").format(
        names["open_nodes"], names["open_edges"], names["barriers"]
    )
    try:
        with conn.transaction():
            conn.execute(drop)
    except psycopg.Error:  # an aborted session: its temp objects go when it closes
        pass
