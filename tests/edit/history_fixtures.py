"""Layers with a history for the feature-history tests (ADR 0013, decision 11).

``hist-restricted`` (restricted, department ``own-a``): two ingest versions — tables
``hist_restricted_v1`` and ``hist_restricted_v2``, the second a re-ingest that kept the
ids and renamed every point — then opened for editing. Point ``tianhe`` lies in county
440106, ``shenzhen`` in Shenzhen. ``hist-public`` (public, ``secret`` an internal field):
one ingest, opened for editing. The people: ``tests.access.ownership_fixtures`` (alice
publishes for ``own-a``, bob for ``own-b``, bea is a member of ``own-b``) and, by the
``x-test-caller`` header, ``county`` and ``member`` of ``own-a`` (the first limited to
440106).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from layers.access.caller import Caller
from layers.catalog import FieldInfo
from tests.access.ownership_fixtures import DEPT_A, as_
from tests.helpers.callers import stand_in_caller_of
from tests.helpers.catalog import fixture_meta, register_table
from tests.helpers.wait import wait_for

RESTRICTED = "hist-restricted"
PUBLIC = "hist-public"
FIELDS = [FieldInfo("name", "string", "name"), FieldInfo("secret", "string", "secret")]
POINTS = {"tianhe": (113.36, 23.14), "shenzhen": (114.06, 22.54)}
INGESTED = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
TEST_CALLER = b"x-test-caller"
PEOPLE = {
    "member": Caller("user", "hm", frozenset({DEPT_A}), frozenset({"member"})),
    "county": Caller("user", "hc", frozenset({DEPT_A}), frozenset({"member"}), ("440106",)),
}


def as_caller(name: str) -> dict[str, str]:
    return {TEST_CALLER.decode(): name}


def _table(conn: psycopg.Connection, name: str, rows: list[tuple[int, str, float, float]]) -> None:
    conn.execute(f"DROP TABLE IF EXISTS onemap_data.{name}".encode())
    conn.execute(
        f"CREATE TABLE onemap_data.{name} (fid bigint PRIMARY KEY, name text, secret text,"
        " geom geometry(Point, 4490))".encode()
    )
    for fid, label, x, y in rows:
        conn.execute(
            f"INSERT INTO onemap_data.{name} VALUES (%s, %s, %s,"
            " ST_SetSRID(ST_MakePoint(%s, %s), 4490))".encode(),
            (fid, label, f"secret of {label}", x, y),
        )


def publish_history_layers(url: str) -> dict[str, int]:
    """Both layers (restricted: two ingest versions), once per database; the point ids by
    name (tests edit only features they create, so the ingested ones stay as made)."""
    with psycopg.connect(url) as conn:
        made = conn.execute("SELECT to_regclass('onemap_data.hist_public_v1')").fetchone()
        if made is not None and made[0] is not None:
            return _fids(conn)
        row = conn.execute("SELECT onemap.reserve_feature_ids(3)").fetchone()
        assert row is not None
        first = int(row[0])
        fids = {"tianhe": first, "shenzhen": first + 1, "public": first + 2}
        ingested = [(fids[n], n, *POINTS[n]) for n in ("tianhe", "shenzhen")]
        _table(conn, "hist_restricted_v1", [(f, f"{n} v1", x, y) for f, n, x, y in ingested])
        _table(conn, "hist_restricted_v2", [(f, f"{n} v2", x, y) for f, n, x, y in ingested])
        _table(conn, "hist_public_v1", [(fids["public"], "public v1", *POINTS["tianhe"])])
        restricted = fixture_meta(
            RESTRICTED, "历史", "History", access_level="restricted", department_id=DEPT_A
        )
        for table, at in (("hist_restricted_v1", INGESTED[0]), ("hist_restricted_v2", INGESTED[1])):
            version = register_table(conn, restricted, table, FIELDS, "Point")
            conn.execute(  # ingested on known days, so datetime= can name them
                "UPDATE onemap.layer_versions SET created_at = %s"
                " WHERE layer_id = %s AND version = %s",
                (at, RESTRICTED, version),
            )
        public = fixture_meta(
            PUBLIC, "公开", "Public", department_id=DEPT_A, metadata={"internal_fields": ["secret"]}
        )
        register_table(conn, public, "hist_public_v1", FIELDS, "Point")
    return fids


def _fids(conn: psycopg.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT name, fid FROM onemap_data.hist_restricted_v1").fetchall()
    fids = {str(name).removesuffix(" v1"): int(fid) for name, fid in rows}
    public = conn.execute("SELECT min(fid) FROM onemap_data.hist_public_v1").fetchone()
    assert public is not None
    return fids | {"public": int(public[0])}


def open_history_layers(client: TestClient, url: str) -> dict[str, int]:
    """Publish, let the app see them, open both for editing as alice; the ids."""
    resolver = client.app.state.onemap.callers  # type: ignore[attr-defined]
    resolver.caller_of = stand_in_caller_of(resolver, PEOPLE, header=TEST_CALLER, prefix="")
    fids = publish_history_layers(url)
    wait_for(lambda: client.get(f"/collections/{PUBLIC}").status_code == 200, "no layers")
    for layer_id in (RESTRICTED, PUBLIC):
        opened = client.put(
            f"/collections/{layer_id}/editing", json={"editable": True}, headers=as_("alice")
        )
        assert opened.status_code == 200, opened.text
    return fids


def point(name: str, x: float = 113.37, y: float = 23.15, **extra: Any) -> dict[str, Any]:
    properties = {"name": name, "secret": f"secret of {name}"} | extra
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [x, y]},
        "properties": properties,
    }


def layer_version(url: str, layer_id: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT current_version FROM onemap.layers WHERE id = %s", (layer_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])
