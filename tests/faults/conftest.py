"""Fault tests' own PostgreSQL: a cluster the test starts, stops and restarts.

The shared server (``ONEMAP_TEST_DATABASE_URL``) is never stopped: ``own_cluster`` is an
``EmbeddedCluster`` (run as the unprivileged ``postgres`` account when the tests run as
root) on a free loopback port, migrated, with the sample cities layer published. The
helpers below are what several fault tests share: a table held locked (a query that waits
as long as the test wants) and the backends of the app's queries on it.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from psycopg import sql

from ingest.pipeline import IngestOptions, ingest_file
from ingest.sample import DEPARTMENT, SAMPLE_LAYERS, sample_file, sample_layer_meta
from layers.catalog_write import upsert_department
from layers.db import APPLICATION_NAME, connect
from layers.embedded import EmbeddedCluster
from layers.migrate import migrate
from layers.platform import DATA_SCHEMA
from tests.conftest import free_port, world_readable_tempdir
from tests.helpers.balanced import onemap_env
from tests.helpers.wait import wait_for

CITIES = "gd-cities"


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[EmbeddedCluster]:
    workdir = world_readable_tempdir("onemap-faults-")
    cluster = EmbeddedCluster(workdir, free_port())
    try:
        url = cluster.start()
        migrate(url)
        with connect(url, autocommit=True) as conn:
            upsert_department(conn, DEPARTMENT)
        source, layer_id, title_zh, title_en, level = SAMPLE_LAYERS[1]
        assert layer_id == CITIES
        meta = sample_layer_meta(layer_id, title_zh, title_en, level)
        options = IngestOptions(source_layer=source, source_crs=None, who="fault-tests")
        ingest_file(url, sample_file("guangdong_admin_cnmaps.gpkg"), meta, options)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if cluster.relocated:
            shutil.rmtree(cluster.root, ignore_errors=True)


def table_of(url: str, layer_id: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT v.table_name FROM onemap.layer_versions v JOIN onemap.layers l "
            "ON l.id = v.layer_id AND l.current_version = v.version WHERE l.id = %s",
            (layer_id,),
        ).fetchone()
    assert row is not None, f"no current version of {layer_id}"
    return str(row[0])


@contextmanager
def locked(url: str, layer_id: str) -> Iterator[None]:
    """The layer's table held ACCESS EXCLUSIVE: every query on it waits until the block ends."""
    table = sql.Identifier(DATA_SCHEMA, table_of(url, layer_id))
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(table))
        try:
            yield
        finally:
            conn.rollback()


def waiting_queries(url: str, layer_id: str) -> list[int]:
    """Backends of the app (application_name onemap) with an active query waiting for the
    layer's table (``pg_stat_activity`` joined with the lock it waits for: the query text
    itself is cut before the table's name by ``track_activity_query_size``)."""
    table = f"{DATA_SCHEMA}.{table_of(url, layer_id)}"
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
            "WHERE a.datname = current_database() AND a.application_name = %s "
            "AND a.state = 'active' AND l.relation = %s::regclass AND NOT l.granted",
            (APPLICATION_NAME, table),
        ).fetchall()
    return [int(pid) for (pid,) in rows]


SERVER = (
    "from layers.settings import ServiceSettings; from ogc.server.serve import serve_http; "
    "s = ServiceSettings(); serve_http(s, s.database_url)"
)


@contextmanager
def served(
    database_url: str, data_dir: Path, wrapper: Sequence[str] = (), **settings: object
) -> Iterator[str]:
    """The app as ``onemap serve`` runs it, in its own process (its latency is not shared
    with the test's client threads), on a free port; ``settings`` as ``ONEMAP_*``;
    ``wrapper``: a command that ends by exec-ing its arguments (the server's own pid)."""
    port = free_port()
    env = onemap_env(database_url, data_dir, port, {k: str(v) for k, v in settings.items()})
    log = data_dir / "server.log"
    with log.open("wb") as out:
        command = [*wrapper, sys.executable, "-c", SERVER]
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: _ready(url) or proc.poll() is not None,
            lambda: f"the server did not become ready: {log.read_text()[-2000:]}",
            timeout=120,  # two workers on a loaded 2-core machine took over 60 s
        )
        assert proc.poll() is None, log.read_text()[-2000:]
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def client_port_of(url: str, backend_pid: int) -> int | None:
    """The client-side TCP port of a PostgreSQL backend (None: the backend is gone)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT client_port FROM pg_stat_activity WHERE pid = %s", (backend_pid,)
        ).fetchone()
    return None if row is None else int(row[0])


def process_on_port(port: int) -> int:
    """The pid of the local process whose TCP socket has ``port`` as its own end: the
    server worker behind a PostgreSQL session (by its ``client_port``)."""
    pids = {c.pid for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port}
    pids.discard(None)
    assert len(pids) == 1, f"not one process on port {port}: {pids}"
    return int(pids.pop())


def backend_alive(url: str, backend_pid: int) -> bool:
    return client_port_of(url, backend_pid) is not None
