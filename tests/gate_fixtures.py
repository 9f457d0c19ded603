"""Layers for the gate's tests: one table published as an internal, a restricted and a public
layer (whose ``secret`` field is marked internal), registered through ``catalog_write``."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from layers.catalog import Catalog, FieldInfo
from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.conftest import PUBLISHER as PUBLISHER_HEADERS
from tests.helpers.catalog import fixture_meta, register_department, register_table
from tests.helpers.wait import wait_for

INTERNAL = "gate-internal"
RESTRICTED = "gate-restricted"
PUBLIC = "gate-public"
HIDDEN = (INTERNAL, RESTRICTED)
DEPARTMENT = "gate-dept"
TABLE = "gate_points_v1"
FIELDS = [FieldInfo("name", "string", "name", "名称"), FieldInfo("secret", "string", "secret")]
CREATE = """
CREATE TABLE IF NOT EXISTS onemap_data.gate_points_v1 (
    fid bigint PRIMARY KEY DEFAULT nextval('onemap.feature_id_seq'),
    name text, secret text, geom geometry(Point, 4490));
TRUNCATE onemap_data.gate_points_v1;
INSERT INTO onemap_data.gate_points_v1 (name, secret, geom)
SELECT '点' || n, '机密' || n,
       ST_SetSRID(ST_MakePoint(113.20 + n * 0.01, 23.10 + n * 0.005), 4490)
FROM generate_series(1, 12) AS n;
CREATE INDEX IF NOT EXISTS gate_points_v1_geom ON onemap_data.gate_points_v1 USING gist (geom);
ANALYZE onemap_data.gate_points_v1
"""


def publish_gate_layers(url: str) -> None:
    with psycopg.connect(url) as conn:
        for statement in CREATE.split(";\n"):
            conn.execute(statement.encode())
        register_department(conn, DEPARTMENT, "测试局", "Test bureau")
        for layer_id, access, department, metadata in (
            (INTERNAL, "internal", None, {}),
            (RESTRICTED, "restricted", DEPARTMENT, {}),
            (PUBLIC, "public", None, {"internal_fields": ["secret"]}),
        ):
            meta = fixture_meta(
                layer_id,
                "门",
                "Gate",
                access_level=access,
                department_id=department,
                metadata=metadata,
            )
            register_table(conn, meta, TABLE, FIELDS, "Point")


@pytest.fixture(scope="module")
def gate_client(
    settings: ServiceSettings, sample_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The app with its own tile cache, once the gate's layers are in its catalog."""
    tiles = tmp_path_factory.mktemp("gate-tiles")
    app = create_app(settings.model_copy(update={"tile_cache_dir": tiles}))
    with TestClient(app) as client:
        if client.get(f"/collections/{PUBLIC}").status_code != 200:
            publish_gate_layers(sample_url)
        for layer_id in (*HIDDEN, PUBLIC):
            url = f"/collections/{layer_id}"
            wait_for(
                lambda url=url: client.get(url, headers=PUBLISHER_HEADERS).status_code == 200,
                f"{url} never appeared for the publisher",
            )
        yield client


def catalog_of(client: TestClient) -> Catalog:
    catalog: Catalog = client.app.state.onemap.store.current  # type: ignore[attr-defined]
    return catalog
