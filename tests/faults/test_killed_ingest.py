"""``onemap ingest`` SIGKILLed half-way (issue 16, "Under faults"): nothing half-published.

The ingest process runs the real command line on a database URL naming its own
``application_name``, so its PostgreSQL sessions are found in ``pg_stat_activity``. It is
killed during its COPY (a file of many small batches) and during the swap (held at the
stable view's ``DROP VIEW`` by a lock the test holds): its backend must end at once —
not when the lock is released — the previous version stays served whole, no table or
lock is left, and the same command then publishes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ingest.pipeline import IngestOptions, ingest_file
from layers.access.audit import AuditEvent
from layers.access.caller import Caller
from layers.catalog_write import LayerMeta
from layers.layer_admin import delete_layer
from layers.platform import DATA_SCHEMA
from tests.helpers.wait import wait_for, wait_for_layer

FIRST_COUNT, LARGE_COUNT = 30, 40_000
GONE_WITHIN_S = 4.0
CLI = "import sys; from ogc.cli.entry import main; sys.argv[0] = 'onemap'; main()"
ADMIN = Caller(kind="local", subject="fault-tests", roles=frozenset({"admin"}))


def _points(path: Path, count: int, version: str) -> Path:
    """``count`` points across Guangdong, numbered, all marked with ``version``."""
    features = [
        {
            "type": "Feature",
            "properties": {"n": i, "version": version},
            "geometry": {
                "type": "Point",
                "coordinates": [110 + (i % 700) / 100, 21 + (i // 700 % 400) / 100],
            },
        }
        for i in range(count)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _meta(layer_id: str) -> LayerMeta:
    return LayerMeta(
        id=layer_id, title_zh="中断测试", title_en="killed ingest", level="province",
        adcode="440000", department_id="gd-nr",
    )  # fmt: skip


@pytest.fixture
def layer(sample_url: str, tmp_path: Path) -> Iterator[str]:
    """A layer of its own with a published first version of FIRST_COUNT points."""
    layer_id = f"killed-ingest-{uuid.uuid4().hex[:8]}"
    source = _points(tmp_path / "first.geojson", FIRST_COUNT, "v1")
    ingest_file(sample_url, source, _meta(layer_id), IngestOptions(who="fault-tests"))
    yield layer_id
    with psycopg.connect(sample_url) as conn:
        delete_layer(conn, layer_id, AuditEvent("layer.delete", ADMIN), None)


def _named(url: str, application_name: str) -> str:
    return make_conninfo(**(conninfo_to_dict(url) | {"application_name": application_name}))  # type: ignore[arg-type]


def _ingest_command(source: Path, layer_id: str) -> list[str]:
    return [sys.executable, "-c", CLI, "ingest", str(source), "--layer", layer_id]


def _environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEMAP_")}
    return env | {"ONEMAP_DATABASE_URL": url, "ONEMAP_INGEST_BATCH_ROWS": "500"}


def _session(url: str, application_name: str, query_start: str) -> int | None:
    """The ingest's backend running a statement that starts with ``query_start``."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
            "AND state = 'active' AND query ILIKE %s",
            (application_name, query_start + "%"),
        ).fetchone()
    return None if row is None else int(row[0])


def _sessions_of(url: str, application_name: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchone()
    assert row is not None
    return int(row[0])


@contextmanager
def _view_held(url: str, layer_id: str) -> Iterator[None]:
    """The stable view read-locked: a swap waits at its DROP VIEW until the block ends."""
    with psycopg.connect(url) as conn:
        view = sql.Identifier(DATA_SCHEMA, layer_id)
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(view))
        try:
            yield
        finally:
            conn.rollback()


@contextmanager
def _nothing_held() -> Iterator[None]:
    yield


def _state(url: str, layer_id: str) -> tuple[int, int, list[str]]:
    """The current version, the stable view's row count, and the layer's tables."""
    with psycopg.connect(url, autocommit=True) as conn:
        current = conn.execute(
            "SELECT current_version FROM onemap.layers WHERE id = %s", (layer_id,)
        ).fetchone()
        view = sql.Identifier(DATA_SCHEMA, layer_id)
        count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(view)).fetchone()
        tables = conn.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' AND c.relname LIKE %s ORDER BY 1",
            (DATA_SCHEMA, layer_id.replace("-", "_") + "_v%"),
        ).fetchall()
    assert current is not None and count is not None
    return int(current[0]), int(count[0]), [str(name) for (name,) in tables]


@pytest.mark.parametrize(
    ("point", "statement"), [("copy", "COPY"), ("swap", "DROP VIEW")], ids=["copy", "swap"]
)
def test_a_killed_ingest_leaves_the_published_version_and_the_retry_publishes(
    sample_url: str, client: TestClient, layer: str, tmp_path: Path, point: str, statement: str
) -> None:
    name = f"onemap-test-ingest-{uuid.uuid4().hex[:8]}"
    url = _named(sample_url, name)
    source = _points(tmp_path / "second.geojson", LARGE_COUNT, "v2")
    before = _state(sample_url, layer)
    held = _view_held(sample_url, layer) if point == "swap" else _nothing_held()
    with held, (tmp_path / "ingest.log").open("wb") as log:
        ingest = subprocess.Popen(
            _ingest_command(source, layer), env=_environment(url), stdout=log, stderr=log
        )
        try:
            backend = wait_for(
                lambda: _session(sample_url, name, statement) or ingest.poll() is not None,
                f"the ingest never ran {statement}",
                timeout=120,
                interval=0.01,
            )
            assert ingest.poll() is None, (tmp_path / "ingest.log").read_text()[-2000:]
        finally:
            ingest.send_signal(signal.SIGKILL)
            ingest.wait(timeout=10)
        wait_for(
            lambda: _sessions_of(sample_url, name) == 0,
            f"the killed ingest's session {backend} ran on with the view locked",
            timeout=GONE_WITHIN_S,
        )
    assert _state(sample_url, layer) == before == (1, FIRST_COUNT, [_table(layer, 1)])
    wait_for_layer(client, layer)
    page = client.get(f"/collections/{layer}/items", params={"limit": 100}).json()
    assert len(page["features"]) == FIRST_COUNT
    assert {f["properties"]["version"] for f in page["features"]} == {"v1"}
    retried = subprocess.run(
        _ingest_command(source, layer), env=_environment(url), capture_output=True,
        timeout=300,
    )  # fmt: skip
    assert retried.returncode == 0, retried.stderr.decode()[-2000:]
    assert _state(sample_url, layer) == (2, LARGE_COUNT, [_table(layer, 1), _table(layer, 2)])


def _table(layer_id: str, version: int) -> str:
    return f"{layer_id.replace('-', '_')}_v{version}"


def test_a_leftover_table_of_the_next_version_does_not_block_the_ingest(
    sample_url: str, layer: str, tmp_path: Path
) -> None:
    """A table named as the next version's (left by manual work or a restored dump) is
    dropped under the layer's lock, not a "relation already exists" on every retry."""
    leftover = sql.Identifier(DATA_SCHEMA, _table(layer, 2))
    with psycopg.connect(sample_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (fid bigint, junk text)").format(leftover))
    source = _points(tmp_path / "second.geojson", 50, "v2")
    result = ingest_file(sample_url, source, _meta(layer), IngestOptions(who="fault-tests"))
    assert result.version == 2
    assert _state(sample_url, layer) == (2, 50, [_table(layer, 1), _table(layer, 2)])
