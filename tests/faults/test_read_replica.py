"""Reads on a real PostgreSQL streaming standby (issue 16, "Read replicas"; ADR 0020).

The test owns a primary (an embedded cluster switched to ``wal_level = replica``) and a
standby made from it by ``pg_basebackup -R`` on another loopback port; the app serves with
``ONEMAP_READ_DATABASE_URL`` naming the standby. Reads must run on the standby (its
``pg_stat_activity`` shows them); with the standby's replay paused, a publish and an edit
are still read at once (from the primary, by the lag rule); with the standby stopped every
read still answers — 200, or during the first moments a 503 with ``Retry-After`` — and it is
used again once it is back.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from ingest.pipeline import IngestOptions, ingest_file
from ingest.sample import SAMPLE_LAYERS, sample_file, sample_layer_meta
from layers.db import APPLICATION_NAME
from layers.embedded import EmbeddedCluster
from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.conftest import world_readable_tempdir
from tests.faults.conftest import CITIES, served
from tests.helpers.standby import Standby, enable_streaming
from tests.helpers.wait import wait_for

TOKEN = "replica-test-publisher"
FAIL_FAST_S = 2.0  # ADR 0015's bound on any answer while a database is away
TILE_SQL = "-- One tile of one layer"
WMTS_TILE = (
    "/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=gd-cities&STYLE=default"
    "&FORMAT=application/vnd.mapbox-vector-tile&TILEMATRIXSET=WebMercatorQuad"
    "&TILEMATRIX=10&TILEROW={row}&TILECOL=835"
)


@pytest.fixture(scope="module")
def standby(own_cluster: EmbeddedCluster) -> Iterator[Standby]:
    enable_streaming(own_cluster)
    replica = Standby(own_cluster)
    try:
        replica.create()
        replica.start()
        yield replica
    finally:
        replica.remove()


@pytest.fixture(scope="module")
def app(own_cluster: EmbeddedCluster, standby: Standby) -> Iterator[httpx.Client]:
    data_dir = world_readable_tempdir("onemap-replica-app-")
    settings = {"read_database_url": standby.dsn, "publisher_token": TOKEN}
    with served(own_cluster.dsn, data_dir, **settings) as url, httpx.Client(base_url=url) as c:
        _wait_caught_up(c)
        yield c


def _replicas(client: httpx.Client) -> dict[str, int]:
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.text  # the primary decides readiness
    status: dict[str, int] = answer.json()["read_replicas"]
    return status


def _wait_caught_up(client: httpx.Client) -> None:
    wait_for(lambda: _replicas(client)["caught_up"] == 1, "the standby never caught up", timeout=20)


def _standby_queries(standby: Standby, since: float) -> list[str]:
    """The last statement of each of the app's request backends on the standby (its probe
    has a name of its own) begun after ``since`` (epoch seconds)."""
    rows = standby.execute(
        "SELECT query FROM pg_stat_activity WHERE application_name = "
        f"'{APPLICATION_NAME}' AND extract(epoch FROM query_start) >= {since}"
    )
    return [str(query) for (query,) in rows]


def test_reads_run_on_the_standby(app: httpx.Client, standby: Standby) -> None:
    paths = {  # each with the start of its statement's text
        f"/collections/{CITIES}/items?limit=3": "SELECT string_agg(item",
        f"/collections/{CITIES}/tiles/WebMercatorQuad/10/441/830": TILE_SQL,  # uncached
        "/search?q=广州": "-- Every layer's tiers",
        WMTS_TILE.format(row=442): TILE_SQL,
    }
    for path, statement in paths.items():
        since = time.time() - 0.01  # the server's clock is this machine's
        answer = app.get(path)
        assert answer.status_code in (200, 204), (path, answer.text[:300])
        queries = _standby_queries(standby, since)
        assert any(q.startswith(statement) for q in queries), (path, queries)


def test_a_publish_and_an_edit_are_read_at_once(
    app: httpx.Client, own_cluster: EmbeddedCluster, standby: Standby
) -> None:
    layer_id = f"replica-{uuid.uuid4().hex[:8]}"
    with _replay_paused(standby):  # the standby stays behind the publish
        _publish(own_cluster, layer_id)
        wait_for(lambda: app.get(f"/collections/{layer_id}").status_code == 200, "no layer")
        page = app.get(f"/collections/{layer_id}/items?limit=2")
        assert page.status_code == 200, page.text[:500]
        assert len(page.json()["features"]) == 2
        assert _replicas(app)["caught_up"] == 0  # so it was read from the primary
    _wait_caught_up(app)  # the standby serves again once it has replayed the publish
    since = time.time() - 0.01
    tile = app.get(f"/collections/{layer_id}/tiles/WebMercatorQuad/10/444/832")
    assert tile.status_code in (200, 204), tile.text
    assert any(q.startswith(TILE_SQL) for q in _standby_queries(standby, since))
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    opened = app.put(f"/collections/{layer_id}/editing", json={"editable": True}, headers=bearer)
    assert opened.status_code == 200, opened.text
    _wait_caught_up(app)
    with _replay_paused(standby):  # an edit the standby does not have: read back at once
        _edit_then_read(app, layer_id, bearer)


@contextmanager
def _replay_paused(standby: Standby) -> Iterator[None]:
    standby.execute("SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        standby.execute("SELECT pg_wal_replay_resume()")


def _publish(cluster: EmbeddedCluster, layer_id: str) -> None:
    source, _, title_zh, title_en, level = SAMPLE_LAYERS[1]
    meta = sample_layer_meta(layer_id, title_zh, title_en, level)
    options = IngestOptions(source_layer=source, source_crs=None, who="replica-tests")
    ingest_file(cluster.dsn, sample_file("guangdong_admin_cnmaps.gpkg"), meta, options)


def _edit_then_read(app: httpx.Client, layer_id: str, bearer: dict[str, str]) -> None:
    """An edit by the publisher, then the feature and a page read back at once."""
    first = app.get(f"/collections/{layer_id}/items?limit=1").json()["features"][0]
    url = f"/collections/{layer_id}/items/{first['id']}"
    etag = app.get(url).headers["etag"]
    headers = bearer | {"Content-Type": "application/merge-patch+json", "If-Match": etag}
    edit = app.patch(url, json={"properties": {"name": "改名市"}}, headers=headers)
    assert edit.status_code in (200, 204), edit.text
    assert app.get(url).json()["properties"]["name"] == "改名市"
    page = app.get(f"/collections/{layer_id}/items?limit=1").json()["features"][0]
    assert page["properties"]["name"] == "改名市"


def test_a_stopped_standby_reads_from_the_primary(app: httpx.Client, standby: Standby) -> None:
    paths = [f"/collections/{CITIES}/items?limit=2", "/search?q=深圳"]
    standby.stop()
    try:
        answers = _ask_for(app, paths, seconds=3.0)
    finally:
        standby.start()
    for path, status, retry_after, seconds in answers:
        assert status == 200 or (status == 503 and retry_after), (path, status)
        assert seconds < FAIL_FAST_S, (path, seconds)
    late = [status for _, status, _, _ in answers[-len(paths) * 3 :]]
    assert late == [200] * len(late), answers  # within the 3 s every read is on the primary
    _wait_caught_up(app)
    since = time.time() - 0.5
    answer = app.get(f"/collections/{CITIES}/tiles/WebMercatorQuad/10/443/831")
    assert answer.status_code in (200, 204)
    assert any(q.startswith(TILE_SQL) for q in _standby_queries(standby, since))  # back on it


def _ask_for(
    app: httpx.Client, paths: list[str], *, seconds: float
) -> list[tuple[str, int, str | None, float]]:
    answers = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in paths:
            started = time.monotonic()
            response = app.get(path)
            elapsed = time.monotonic() - started
            answers.append(
                (path, response.status_code, response.headers.get("retry-after"), elapsed)
            )
    return answers


def test_a_server_that_is_not_a_standby_is_never_read_from(
    own_cluster: EmbeddedCluster, tmp_path: Path
) -> None:
    """Its WAL positions are not the primary's: the primary itself named as a read URL."""
    settings = ServiceSettings(
        database_url=own_cluster.dsn,
        read_database_url=[own_cluster.dsn],
        data_dir=tmp_path,
        load_sample_data=False,
    )
    with TestClient(create_app(settings)) as client:
        reads = client.app.state.onemap.reads  # type: ignore[attr-defined]
        wait_for(lambda: reads.replicas[0].warned, "the read URL was never probed", timeout=10)
        assert client.get("/readyz").json()["read_replicas"] == {
            "configured": 1,
            "up": 0,
            "caught_up": 0,
        }
        assert reads.pool() is reads.primary
        assert client.get(f"/collections/{CITIES}/items?limit=1").status_code == 200
