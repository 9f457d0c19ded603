"""``TRUNCATE`` of an editable layer's table is an edit like a DELETE of every row
(migration 0022, ADR 0013 decision 9): one new version, each feature recorded as deleted
by the database role, the layer empty, and its cached tiles purged. The layer is this
test's own (a truncate would empty the shared fixture's)."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from tests.edit.conftest import open_own_layer
from tests.edit.test_batches import layer_state
from tests.helpers.wait import wait_for
from tests.tiles.helpers import decode, tile_at

LAYER, TABLE = "edit-truncated", "edit_truncated_v1"
Z = 14


def test_truncate_records_every_feature_deleted_in_one_version_and_purges_tiles(
    editing: TestClient, sample_url: str
) -> None:
    open_own_layer(editing, sample_url, LAYER, TABLE, (113.60, 23.20))
    row, col = tile_at("WebMercatorQuad", Z, 113.6011, 23.2001)
    tile = f"/collections/{LAYER}/tiles/WebMercatorQuad/{Z}/{row}/{col}"
    cached = editing.get(tile)
    assert cached.status_code == 200 and decode(cached.content)[LAYER]["features"]
    before, count = layer_state(sample_url, LAYER)
    assert count == 3
    with psycopg.connect(sample_url) as conn:  # an analyst's client
        role = conn.execute("SELECT current_user").fetchone()
        conn.execute(f"TRUNCATE onemap_data.{TABLE}".encode())

    assert layer_state(sample_url, LAYER) == (before + 1, 0)
    with psycopg.connect(sample_url) as conn:
        recorded = conn.execute(
            "SELECT operation, actor_kind, actor_subject, after,"
            " before -> 'properties' ->> 'name' FROM onemap.feature_edits"
            " WHERE layer_id = %s AND version = %s ORDER BY fid",
            [LAYER, before + 1],
        ).fetchall()
        lineage = conn.execute(
            "SELECT lineage ->> 'statement' FROM onemap.layer_versions"
            " WHERE layer_id = %s AND version = %s",
            [LAYER, before + 1],
        ).fetchone()
    assert role is not None and lineage == ("truncate",)
    assert recorded == [("delete", "database", role[0], None, f"row {n}") for n in (1, 2, 3)]
    wait_for(lambda: editing.get(tile).status_code == 204, "the truncated layer's tile is cached")
    page = editing.get(f"/collections/{LAYER}/items")
    assert page.status_code == 200 and page.json()["features"] == []
