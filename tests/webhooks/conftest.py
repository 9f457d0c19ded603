"""The app with change notifications on, two departments' layers, and their publishers.

``hook-public`` (own-a, public) and ``hook-restricted`` (own-a, restricted) share one
editable point table; ``hook-b`` belongs to own-b. Retries are fast in every test app
(``tests/conftest.py``'s settings), so a receiver that fails is retried within a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from layers.catalog import FieldInfo
from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.access.ownership_fixtures import DEPT_A, DEPT_B, as_, callers_by_token
from tests.helpers.catalog import fixture_meta, register_department, register_table
from tests.helpers.wait import wait_for

PUBLIC, RESTRICTED, OF_B = "hook-public", "hook-restricted", "hook-b"
TABLE = "hook_points_v1"
FIELDS = [FieldInfo("name", "string", "name")]
CREATE = """
CREATE TABLE IF NOT EXISTS onemap_data.hook_points_v1 (
    fid bigint PRIMARY KEY DEFAULT nextval('onemap.feature_id_seq'),
    name text, geom geometry(Point, 4490));
INSERT INTO onemap_data.hook_points_v1 (name, geom)
SELECT 'p' || n, ST_SetSRID(ST_MakePoint(113.2 + n * 0.01, 23.1), 4490)
FROM generate_series(1, 3) AS n
"""


def publish_layer(
    url: str, layer_id: str, department: str, level: str = "public", table: str = TABLE
) -> int:
    """Publish ``table`` as the next version of ``layer_id`` (the product's catalog writes)."""
    with psycopg.connect(url) as conn:
        meta = fixture_meta(layer_id, "点", "Points", access_level=level, department_id=department)
        return register_table(conn, meta, table, FIELDS, "Point")


def copy_table(url: str, name: str) -> str:
    """A copy of ``TABLE`` of its own (a layer that is deleted takes its tables with it)."""
    with psycopg.connect(url) as conn:
        conn.execute(
            sql.SQL("CREATE TABLE {} AS TABLE onemap_data.hook_points_v1").format(
                sql.Identifier("onemap_data", name)
            )
        )
    return name


def point(name: str, lon: float = 113.25) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, 23.12]},
        "properties": {"name": name},
    }


def write_headers(name: str = "alice") -> dict[str, str]:
    return as_(name) | {"Content-Type": "application/geo+json"}


@pytest.fixture(scope="module")
def hooks(
    settings: ServiceSettings, sample_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    tiles = tmp_path_factory.mktemp("hook-tiles")
    app = create_app(settings.model_copy(update={"tile_cache_dir": tiles}))
    callers_by_token(app.state.onemap.callers)
    with TestClient(app) as client:
        with psycopg.connect(sample_url) as conn:
            for statement in CREATE.split(";\n"):
                conn.execute(statement.encode())
            for department in (DEPT_A, DEPT_B):
                register_department(conn, department)
        for layer_id, department, level in (
            (PUBLIC, DEPT_A, "public"),
            (RESTRICTED, DEPT_A, "restricted"),
            (OF_B, DEPT_B, "public"),
        ):
            publish_layer(sample_url, layer_id, department, level)
        for layer_id, who in ((PUBLIC, "alice"), (RESTRICTED, "alice"), (OF_B, "bob")):
            wait_for_visible(client, layer_id, who)
            opened = client.put(
                f"/collections/{layer_id}/editing", json={"editable": True}, headers=as_(who)
            )
            assert opened.status_code == 200, opened.text
        yield client


def wait_for_visible(client: TestClient, layer_id: str, who: str) -> None:
    wait_for(
        lambda: client.get(f"/collections/{layer_id}", headers=as_(who)).status_code == 200,
        f"{layer_id} never appeared to {who}",
    )


def subscribe(client: TestClient, who: str = "alice", **body: Any) -> dict[str, Any]:
    """A subscription made through the API (201 expected); its document and secret."""
    answer = client.post("/admin/subscriptions", json=body, headers=as_(who))
    assert answer.status_code == 201, answer.text
    document: dict[str, Any] = answer.json()
    return document


def create(client: TestClient, layer_id: str, name: str) -> int:
    """Create a feature through Part 4; its id."""
    answer = client.post(
        f"/collections/{layer_id}/items", json=point(name), headers=write_headers()
    )
    assert answer.status_code == 201, answer.text
    return int(answer.headers["Location"].rsplit("/", 1)[1])
