"""Search tables follow layer versions: a new version gets its own table, built in the
background after the publish, the old one is dropped, a rollback builds the old version's
table again and a delete drops it; answers come from the current version throughout."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from layers.access.audit import AuditEvent
from layers.access.caller import Caller
from layers.layer_admin import delete_layer, rollback_layer
from tests.gate_fixtures import catalog_of
from tests.helpers.catalog import fixture_meta, register_table
from tests.helpers.wait import wait_for
from tests.search.helpers import NAME_FIELDS

LAYER = "search-versions"
CREATE = """
CREATE TABLE onemap_data.{table} (
    fid bigint PRIMARY KEY DEFAULT nextval('onemap.feature_id_seq'),
    name text, geom geometry(Point, 4490));
INSERT INTO onemap_data.{table} (name, geom)
VALUES ('{name}', ST_SetSRID(ST_MakePoint(113.3, 23.1), 4490))
"""


def _publish(url: str, version: int, name: str) -> None:
    table = f"search_versions_v{version}"
    with psycopg.connect(url) as conn:
        for statement in CREATE.format(table=table, name=name).split(";\n"):
            conn.execute(statement.encode())
        register_table(conn, fixture_meta(LAYER, "版本", "Versions"), table, NAME_FIELDS, "Point")


def _tables(url: str) -> list[int]:
    """The versions of the layer with a registered search table (and none unregistered)."""
    with psycopg.connect(url) as conn:
        registered = conn.execute(
            "SELECT version FROM onemap.search_indexes WHERE layer_id = %s", (LAYER,)
        ).fetchall()
        orphans = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'onemap_search'"
            " AND tablename NOT IN (SELECT table_name FROM onemap.search_indexes)"
        ).fetchone()
    assert orphans is not None and orphans[0] == 0, "a search table left behind"
    return sorted(row[0] for row in registered)


def _ready(client: TestClient, version: int) -> bool:
    layer = catalog_of(client).layers.get(LAYER)
    indexes = client.app.state.onemap.search  # type: ignore[attr-defined]
    return layer is not None and layer.version == version and bool(indexes.table_for(layer, "name"))


def _names(client: TestClient) -> list[str]:
    answer = client.get("/search", params={"q": "版本测试", "layers": LAYER})
    assert answer.status_code == 200, answer.text
    return [f["properties"]["name"] for f in answer.json()["features"]]


def test_a_new_version_gets_its_own_table_and_the_old_one_goes(
    client: TestClient, sample_url: str
) -> None:
    _publish(sample_url, 1, "版本测试一")
    wait_for(lambda: _ready(client, 1), "no search table for version 1")
    assert _names(client) == ["版本测试一"] and _tables(sample_url) == [1]
    _publish(sample_url, 2, "版本测试二")
    wait_for(lambda: _ready(client, 2), "no search table for version 2")
    assert _names(client) == ["版本测试二"] and _tables(sample_url) == [2]
    with psycopg.connect(sample_url) as conn:
        who = Caller(kind="local", subject="tests", roles=frozenset({"admin"}))
        rollback_layer(conn, LAYER, 1, AuditEvent("layer.rollback", who))
    wait_for(lambda: _ready(client, 1), "no search table for version 1 after the rollback")
    assert _names(client) == ["版本测试一"] and _tables(sample_url) == [1]
    with psycopg.connect(sample_url) as conn:
        delete_layer(conn, LAYER, AuditEvent("layer.delete", who), None)
    wait_for(lambda: not _tables(sample_url), "the deleted layer's search table is still there")
