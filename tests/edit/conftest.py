"""An editable polygon layer of department ``own-a`` (ADR 0013) and the people who edit it.

``edit-buildings``: three buildings in Guangzhou, ``name``/``function``/``height``/``built``,
opened for editing by its publisher alice through the API. ``edit-closed``: the same
table, never opened. The people and their tokens are the ownership tests'.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from layers.catalog import FieldInfo
from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.access.ownership_fixtures import DEPT_A, as_, callers_by_token
from tests.helpers.catalog import fixture_meta, register_department, register_table
from tests.helpers.wait import wait_for

BUILDINGS = "edit-buildings"
CLOSED = "edit-closed"
TABLE = "edit_buildings_v1"
FIELDS = [
    FieldInfo("name", "string", "name"),
    FieldInfo("function", "string", "function"),
    FieldInfo("height", "number", "height"),
    FieldInfo("built", "date", "built"),
]
CREATE = """
CREATE TABLE onemap_data.edit_buildings_v1 (
    fid bigint PRIMARY KEY DEFAULT nextval('onemap.feature_id_seq'),
    name text, function text, height double precision, built date,
    geom geometry(MultiPolygon, 4490));
INSERT INTO onemap_data.edit_buildings_v1 (name, function, height, built, geom)
SELECT 'building ' || n, 'public', 10.0 * n, date '2020-01-01' + n,
       ST_Multi(ST_MakeEnvelope(113.30 + n * 0.001, 23.10, 113.3004 + n * 0.001, 23.1003, 4490))
FROM generate_series(1, 3) AS n
"""
SQUARE = [
    [113.31, 23.11],
    [113.3104, 23.11],
    [113.3104, 23.1103],
    [113.31, 23.1103],
    [113.31, 23.11],
]


def feature(
    name: str = "new hall", ring: list[list[float]] | None = None, **extra: Any
) -> dict[str, Any]:
    """A GeoJSON Feature for ``edit-buildings`` (CRS84)."""
    properties = {"name": name, "function": "public", "height": 5.5} | extra
    geometry = {"type": "Polygon", "coordinates": [ring or SQUARE]}
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def write_headers(name: str = "alice", **extra: str) -> dict[str, str]:
    return as_(name) | {"Content-Type": "application/geo+json"} | extra


def publish(url: str) -> None:
    with psycopg.connect(url) as conn:
        for statement in CREATE.split(";\n"):
            conn.execute(statement.encode())
        register_department(conn, DEPT_A)
        for layer_id in (BUILDINGS, CLOSED):
            meta = fixture_meta(layer_id, "建筑", "Buildings", department_id=DEPT_A)
            register_table(conn, meta, TABLE, FIELDS, "MultiPolygon")


@pytest.fixture(scope="module")
def editing(
    settings: ServiceSettings, sample_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The app with ``edit-buildings`` open for editing (opened through the API)."""
    tiles = tmp_path_factory.mktemp("edit-tiles")
    app = create_app(settings.model_copy(update={"tile_cache_dir": tiles}))
    callers_by_token(app.state.onemap.callers)
    with TestClient(app) as client:
        with psycopg.connect(sample_url) as conn:
            exists = conn.execute("SELECT to_regclass('onemap_data.edit_buildings_v1')").fetchone()
        if exists is None or exists[0] is None:
            publish(sample_url)
        wait_for(lambda: client.get(f"/collections/{CLOSED}").status_code == 200, "no layers")
        opened = client.put(
            f"/collections/{BUILDINGS}/editing",
            json={"editable": True},
            headers=as_("alice"),
        )
        assert opened.status_code == 200, opened.text
        yield client


def ids(client: TestClient) -> list[int]:
    answer = client.get(f"/collections/{BUILDINGS}/items?limit=1000")
    assert answer.status_code == 200, answer.text
    return [f["id"] for f in answer.json()["features"]]


def first_id(client: TestClient) -> int:
    return ids(client)[0]


@pytest.fixture(scope="module")
def replica(
    settings: ServiceSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """A second app on the same database with a tile cache of its own: a replica, which
    learns of every change only by NOTIFY."""
    tiles = tmp_path_factory.mktemp("edit-replica-tiles")
    with TestClient(create_app(settings.model_copy(update={"tile_cache_dir": tiles}))) as client:
        yield client


def open_own_layer(
    client: TestClient,
    url: str,
    layer_id: str,
    table: str,
    corner: tuple[float, float],
    rules: dict[str, Any] | None = None,
) -> None:
    """A test's own editable layer of three 'row n' squares east of ``corner`` (tests that
    empty a table or need another place must not touch ``edit-buildings``)."""
    west, south = corner
    with psycopg.connect(url) as conn:
        conn.execute(f"DROP TABLE IF EXISTS onemap_data.{table}".encode())
        conn.execute(CREATE.split(";\n")[0].replace("edit_buildings_v1", table).encode())
        conn.execute(
            f"INSERT INTO onemap_data.{table} (name, function, geom) SELECT 'row ' || n, 'x', "
            f"ST_Multi(ST_MakeEnvelope({west} + n * 0.0005, {south}, {west} + 0.0003 + "
            f"n * 0.0005, {south} + 0.0003, 4490)) FROM generate_series(1, 3) AS n".encode()
        )
        register_department(conn, DEPT_A)
        meta = fixture_meta(layer_id, "测试", "Test", department_id=DEPT_A)
        register_table(conn, meta, table, FIELDS, "MultiPolygon")
    wait_for(lambda: client.get(f"/collections/{layer_id}").status_code == 200, "no layer")
    body = {"editable": True} | (rules or {})
    opened = client.put(f"/collections/{layer_id}/editing", json=body, headers=as_("alice"))
    assert opened.status_code == 200, opened.text
