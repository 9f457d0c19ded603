"""Two departments, their layers and their people, for the ownership tests.

Callers reach the app through its own resolver: ``callers_by_token`` wraps the app's
``CallerResolver.caller_of`` (test-only, ``tests.helpers.callers``) so ``Authorization:
Bearer test-<name>`` is the caller ``PEOPLE[name]``, and every other request resolves as the
app would resolve it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from layers.access.caller import Caller
from layers.catalog import FieldInfo
from layers.settings import ServiceSettings
from ogc.app import create_app
from ogc.gate.caller import CallerResolver
from tests.helpers.callers import stand_in_caller_of
from tests.helpers.catalog import fixture_meta, register_department, register_table
from tests.helpers.wait import wait_for

DEPT_A, DEPT_B = "own-a", "own-b"
A_PUBLIC = "own-a-public"  # dept A's public layer
A_EDIT = "own-a-edit"  # dept A's layer whose access the tests change
B_PUBLIC = "own-b-public"
B_RESTRICTED = "own-b-restricted"
LAYERS = (A_PUBLIC, A_EDIT, B_PUBLIC, B_RESTRICTED)
TABLE = "own_points_v1"
FIELDS = [FieldInfo("name", "string", "name"), FieldInfo("secret", "string", "secret")]
CREATE = """
CREATE TABLE IF NOT EXISTS onemap_data.own_points_v1 (
    fid bigint PRIMARY KEY DEFAULT nextval('onemap.feature_id_seq'),
    name text, secret text, geom geometry(Point, 4490));
TRUNCATE onemap_data.own_points_v1;
INSERT INTO onemap_data.own_points_v1 (name, secret, geom)
SELECT 'p' || n, 's' || n, ST_SetSRID(ST_MakePoint(113.2 + n * 0.01, 23.1), 4490)
FROM generate_series(1, 5) AS n
"""
PEOPLE: dict[str, Caller] = {
    "alice": Caller("user", "alice", frozenset({DEPT_A}), frozenset({"government", "publisher"})),
    "bob": Caller("user", "bob", frozenset({DEPT_B}), frozenset({"government", "publisher"})),
    "bea": Caller("user", "bea", frozenset({DEPT_B}), frozenset({"government", "member"})),
    "both": Caller("user", "both", frozenset({DEPT_A, DEPT_B}), frozenset({"publisher"})),
    "root": Caller("user", "root", frozenset(), frozenset({"admin"})),
}


def as_(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer test-{name}"}


def callers_by_token(resolver: CallerResolver) -> None:
    """Make ``Bearer test-<name>`` the caller ``PEOPLE[name]`` (through the resolver)."""
    resolver.caller_of = stand_in_caller_of(resolver, PEOPLE)  # type: ignore[method-assign,assignment]


def publish_layers(url: str) -> None:
    with psycopg.connect(url) as conn:
        for statement in CREATE.split(";\n"):
            conn.execute(statement.encode())
        for department in (DEPT_A, DEPT_B):
            register_department(conn, department)
        for layer_id, department, level in (
            (A_PUBLIC, DEPT_A, "public"),
            (A_EDIT, DEPT_A, "public"),
            (B_PUBLIC, DEPT_B, "public"),
            (B_RESTRICTED, DEPT_B, "restricted"),
        ):
            meta = fixture_meta(
                layer_id, "点", "Points", access_level=level, department_id=department
            )
            register_table(conn, meta, TABLE, FIELDS, "Point")


@pytest.fixture(scope="module")
def owned(
    settings: ServiceSettings, sample_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The app, with the departments' layers in its catalog and the test people."""
    tiles = tmp_path_factory.mktemp("own-tiles")
    app = create_app(settings.model_copy(update={"tile_cache_dir": tiles}))
    callers_by_token(app.state.onemap.callers)
    with TestClient(app) as client:
        publish_layers(sample_url)
        for layer_id in LAYERS:
            wait_for_layer(client, layer_id)
        yield client


def wait_for_layer(client: TestClient, layer_id: str, **expected: Any) -> dict[str, Any]:
    """The layer's collection document (as the admin sees it), once it has ``expected``
    values in ``onemap:layer``."""

    def ready() -> dict[str, Any] | None:
        answer = client.get(f"/collections/{layer_id}", headers=as_("root"))
        if answer.status_code != 200:
            return None
        layer: dict[str, Any] = answer.json()["onemap:layer"]
        return layer if all(layer.get(k) == v for k, v in expected.items()) else None

    return wait_for(ready, f"{layer_id} never showed {expected}")


def audit_rows(url: str, operation: str, subject: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            "SELECT * FROM onemap.audit_log WHERE operation = %s AND actor_subject = %s "
            "ORDER BY id",
            (operation, subject),
        )
        return cur.fetchall()
