"""Analysts' SQL on an editable layer's table is an edit like the API's (ADR 0013, 9): one
version per statement, a ``feature_edits`` row per feature naming the database role, and
the touched tiles purged in every process that serves the layer — here a second app (a
replica with its own tile cache), which learns of the edit only by NOTIFY."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi.testclient import TestClient
from psycopg import sql

from tests.edit.conftest import BUILDINGS, TABLE, feature
from tests.edit.test_create_replace_delete import create
from tests.edit.test_purge import FAR, names_at, plant_probes, square, tile_paths
from tests.helpers.wait import wait_for
from tests.tiles.helpers import build_mercator_overview
from tiles import mvt, overview

TMS = "WebMercatorQuad"


def version(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT current_version FROM onemap.layers WHERE id = %s", [BUILDINGS])
        found = row.fetchone()
    assert found is not None
    return int(found[0])


def run(url: str, statement: str, params: list[Any]) -> None:
    with psycopg.connect(url) as conn:  # an analyst's client: no OneMap setting
        conn.execute(statement.encode(), params)


def edits(url: str, at_version: int) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT fid, operation, actor_kind, actor_subject, before -> 'properties' ->> 'name',"
            " after -> 'properties' ->> 'name' FROM onemap.feature_edits"
            " WHERE layer_id = %s AND version = %s ORDER BY fid",
            [BUILDINGS, at_version],
        ).fetchall()


def test_an_update_is_recorded_bumps_one_version_and_purges_every_replica(
    editing: TestClient, replica: TestClient, sample_url: str
) -> None:
    place, other = (113.8001, 23.4001), (113.8101, 23.4001)
    first = int(create(editing, feature("sql before", square(*place))).rsplit("/", 1)[1])
    second = int(create(editing, feature("sql before", square(*other))).rsplit("/", 1)[1])
    path = tile_paths(TMS, *place)["mvt"]
    far = tile_paths(TMS, *FAR)["mvt"]
    wait_for(
        lambda: (
            replica.get(path).status_code == 200
            and names_at(replica, path, first) == ["sql before"]
        ),
        "the replica never saw the features",
    )
    for client in (editing, replica):
        assert names_at(client, path, first) == ["sql before"]  # cached (and hot)
        client.get(far)
    near_probes = plant_probes(replica, place)
    far_probes = plant_probes(replica, FAR)
    before = version(sample_url)
    role = session_role(sample_url)  # the database role is the editor (make test: onemap)

    run(
        sample_url,
        f"UPDATE onemap_data.{TABLE} SET name = 'sql after' WHERE fid = ANY(%s)",
        [[first, second]],
    )

    assert version(sample_url) == before + 1  # one statement, two rows: one version
    assert edits(sample_url, before + 1) == [
        (first, "update", "database", role, "sql before", "sql after"),
        (second, "update", "database", role, "sql before", "sql after"),
    ]
    with psycopg.connect(sample_url) as conn:  # subscribers are told, as of an API edit
        events = conn.execute(
            "SELECT type, data ->> 'who', data ->> 'operation', data -> 'fids'"
            " FROM onemap.change_events WHERE layer_id = %s AND (data ->> 'version')::int = %s",
            [BUILDINGS, before + 1],
        ).fetchall()
    edited = ("cn.gov.gd.onemap.feature.edited", f"database:{role}", "update")
    assert [(*e[:3], sorted(e[3])) for e in events] == [(*edited, sorted([first, second]))]
    for client in (editing, replica):
        wait_for(
            lambda c=client: names_at(c, path, first) == ["sql after"],  # type: ignore[misc]
            "a process still serves the tile from before the SQL update",
        )
    assert [probe for probe in near_probes if probe.exists()] == []  # purged by the replica
    assert all(probe.exists() for probe in far_probes)  # the far tiles kept
    item = replica.get(f"/collections/{BUILDINGS}/items/{first}")
    assert item.json()["properties"]["name"] == "sql after"
    assert item.headers["ETag"] == f'"{BUILDINGS}.{first}.{before + 1}"'


def session_role(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT current_user").fetchone()
    assert row is not None
    return str(row[0])


def test_inserts_and_deletes_are_edits_too(editing: TestClient, sample_url: str) -> None:
    place = (113.8501, 23.4501)
    path = tile_paths(TMS, *place)["mvt"]
    create(editing, feature("neighbour", square(place[0] + 0.001, place[1], 0.0001)))
    assert editing.get(path).status_code == 200  # cached before the insert
    before = version(sample_url)
    role = session_role(sample_url)
    ring = ", ".join(f"{x} {y}" for x, y in square(*place))
    with psycopg.connect(sample_url) as conn:
        row = conn.execute(
            f"INSERT INTO onemap_data.{TABLE} (name, function, geom) VALUES "
            f"('typed in psql', 'public', ST_Multi(ST_GeomFromText('POLYGON(({ring}))', 4490)))"
            " RETURNING fid"
        ).fetchone()
    assert row is not None
    fid = int(row[0])
    assert version(sample_url) == before + 1
    assert edits(sample_url, before + 1) == [
        (fid, "create", "database", role, None, "typed in psql")
    ]
    wait_for(lambda: names_at(editing, path, fid) == ["typed in psql"], "insert not shown")
    run(sample_url, f"DELETE FROM onemap_data.{TABLE} WHERE fid = %s", [fid])
    assert version(sample_url) == before + 2
    assert edits(sample_url, before + 2) == [
        (fid, "delete", "database", role, "typed in psql", None)
    ]
    wait_for(lambda: names_at(editing, path, fid) == [], "delete not shown")
    assert editing.get(f"/collections/{BUILDINGS}/items/{fid}").status_code == 404


def test_api_edits_are_recorded_once(editing: TestClient, sample_url: str) -> None:
    """The API's own statements pass the triggers' bookkeeping (``onemap.edit`` is set)."""
    before = version(sample_url)
    fid = int(create(editing, feature("by the api")).rsplit("/", 1)[1])
    assert version(sample_url) == before + 1
    rows = edits(sample_url, before + 1)
    assert [(r[0], r[1], r[2]) for r in rows] == [(fid, "create", "user")]


def overview_rows(url: str, table: str, fid: int) -> list[tuple[int, float]]:
    with psycopg.connect(url) as conn:
        statement = sql.SQL(
            "SELECT z, round(ST_X(ST_Transform(ST_Centroid(geom), 4490))::numeric, 4)::float"
            " FROM {} WHERE fid = %s ORDER BY z"
        ).format(sql.Identifier("onemap_data", table))
        return [(int(z), float(x)) for z, x in conn.execute(statement, [fid]).fetchall()]


def test_overviews_follow_api_and_sql_edits(editing: TestClient, sample_url: str) -> None:
    """The layer's overview (built here: the fixture is too small for the app to build one)
    holds every changed feature at every level, in the edit's own transaction."""
    layer = editing.app.state.onemap.store.current.get(BUILDINGS)  # type: ignore[attr-defined]
    table = build_mercator_overview(sample_url, layer)
    levels = list(range(overview.MAX_LEVEL[mvt.MERCATOR.name] + 1))
    url = create(editing, feature("in the overview", square(113.9001, 23.5001)))
    fid = int(url.rsplit("/", 1)[1])
    assert overview_rows(sample_url, table, fid) == [(z, 113.9003) for z in levels]
    run(
        sample_url,
        f"UPDATE onemap_data.{TABLE} SET geom = ST_Translate(geom, 0.01, 0) WHERE fid = %s",
        [fid],
    )
    assert overview_rows(sample_url, table, fid) == [(z, 113.9103) for z in levels]
    run(sample_url, f"DELETE FROM onemap_data.{TABLE} WHERE fid = %s", [fid])
    assert overview_rows(sample_url, table, fid) == []
