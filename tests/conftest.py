"""Shared fixtures: a real PostGIS for every test run, never a skip.

``ONEMAP_TEST_DATABASE_URL`` names a server on which a fresh database is created
for the run; without it a throw-away embedded cluster is started. If neither
works the run fails with the reason and the fix.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ingest.sample import load_sample_data
from layers.embedded import EmbeddedCluster
from layers.errors import OneMapError
from layers.migrate import migrate
from layers.settings import ServiceSettings
from layers.webhooks.settings import WebhookSettings

# Every test client is one client address making thousands of requests and jobs: the
# service's default rate limits and job quotas would refuse them part-way through the run.
# Tests of those limits set them on their own apps (tests/access/test_rate_limits.py).
for _name in ("ONEMAP_RATE_LIMIT_ANONYMOUS", "ONEMAP_JOBS_MAX_OPEN", "ONEMAP_JOBS_PER_DAY"):
    os.environ.setdefault(_name, "0")

PUBLISHER_TOKEN = "test-publisher-token"  # uploads need it: loopback is not trusted
PUBLISHER = {"Authorization": f"Bearer {PUBLISHER_TOKEN}"}
# Whichever test app delivers change notifications retries within a second, and gives up
# after 8 attempts (about 2.4 s) — tests wait on receivers, never on production back-off.
FAST_WEBHOOKS = WebhookSettings(
    retry_base_seconds=0.05,
    retry_max_seconds=0.4,
    max_attempts=8,
    poll_seconds=0.2,
    timeout_seconds=2,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def world_readable_tempdir(prefix: str) -> Path:
    """A temp dir the unprivileged ``postgres`` account can traverse when we are root."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh, empty PostGIS-capable database for this test run."""
    server = os.environ.get("ONEMAP_TEST_DATABASE_URL")
    if server:
        yield from _fresh_database_on(server)
        return
    workdir = world_readable_tempdir("onemap-test-")
    cluster = EmbeddedCluster(workdir, free_port())
    try:
        url = cluster.start()
    except OneMapError as exc:
        pytest.fail(
            "no PostGIS for the tests: the embedded cluster failed "
            f"({exc.message}). Install PostGIS (make deps) or set ONEMAP_TEST_DATABASE_URL.",
            pytrace=False,
        )
    try:
        yield url
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _fresh_database_on(server: str) -> Iterator[str]:
    name = f"onemap_test_{os.getpid()}"
    try:
        admin = psycopg.connect(server, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"ONEMAP_TEST_DATABASE_URL is set but unreachable: {exc}", pytrace=False)
    with admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = conninfo_to_dict(server) | {"dbname": name}
    try:
        yield make_conninfo(**params)  # type: ignore[arg-type]
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def migrated_url(database_url: str) -> str:
    try:
        migrate(database_url)
    except OneMapError as exc:
        pytest.fail(f"migrations failed: {exc.message}", pytrace=False)
    return database_url


@pytest.fixture(scope="session")
def sample_url(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The migrated database with the bundled Guangdong layers published (the DEM's COG in
    a directory of the run)."""
    load_sample_data(migrated_url, raster_dir=tmp_path_factory.mktemp("sample-rasters"))
    return migrated_url


@pytest.fixture(scope="session")
def settings(sample_url: str) -> ServiceSettings:
    return ServiceSettings(
        database_url=sample_url,
        load_sample_data=False,
        max_limit=1000,
        publisher_token=PUBLISHER_TOKEN,
        webhooks=FAST_WEBHOOKS,
    )


@pytest.fixture(scope="session")
def client(settings: ServiceSettings) -> Iterator[TestClient]:
    """The real app over HTTP semantics, its lifespan (pool, catalog, listener) running."""
    from ogc.app import create_app  # imported here so data-only tests need no web stack

    with TestClient(create_app(settings)) as test_client:
        yield test_client
