"""The embedded PostGIS cluster, started for real from the system's PostgreSQL packages.

Run as root (as CI does) this exercises the path where the cluster is handed to
the ``postgres`` account.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from layers import pg_host
from layers.embedded import (
    EmbeddedCluster,
    find_pg_bindir,
    first_blocked_parent,
    postgis_available,
)
from layers.errors import EmbeddedClusterError
from tests.conftest import free_port
from tests.helpers.wait import wait_for


def postmaster_pid(cluster: EmbeddedCluster) -> int:
    return int((cluster.pgdata / "postmaster.pid").read_text().split()[0])


@pytest.fixture(scope="module")
def embedded_workdir() -> Iterator[Path]:
    """A directory the ``postgres`` account can enter (pytest's own tmp root is 0700)."""
    workdir = Path(tempfile.mkdtemp(prefix="onemap-embedded-test-"))
    workdir.chmod(0o755)
    yield workdir
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def embedded_cluster(embedded_workdir: Path) -> Iterator[EmbeddedCluster]:
    cluster = EmbeddedCluster(embedded_workdir / "data", port=free_port())
    cluster.start()
    yield cluster
    cluster.stop()


def test_find_pg_bindir_has_initdb_and_postgis() -> None:
    bindir = find_pg_bindir()
    assert (bindir / "initdb").is_file()
    assert postgis_available(bindir)


def test_postgis_available_is_false_without_the_extension(tmp_path: Path) -> None:
    assert not postgis_available(tmp_path / "bin")


def test_missing_postgis_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = find_pg_bindir()
    monkeypatch.setattr(pg_host, "SHARE_ROOT", tmp_path)  # no extension/postgis.control
    with pytest.raises(EmbeddedClusterError) as raised:
        EmbeddedCluster(tmp_path / "data", port=free_port()).start()
    assert f"apt-get install -y postgresql-{bindir.parent.name}-postgis-3" in raised.value.message
    assert "ONEMAP_DATABASE_URL" in raised.value.message


def test_missing_postgresql_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_host, "PG_LIB_ROOT", tmp_path)
    with pytest.raises(EmbeddedClusterError, match="apt-get install -y postgresql-15 "):
        find_pg_bindir()


def test_dsn_names_user_host_port_and_database() -> None:
    cluster = EmbeddedCluster(Path("/srv/onemap"), port=55999, dbname="maps", user="gis")
    assert cluster.dsn == "postgresql://gis@127.0.0.1:55999/maps"


def test_postgis_works(embedded_cluster: EmbeddedCluster) -> None:
    with psycopg.connect(embedded_cluster.dsn) as conn:
        version = conn.execute("SELECT postgis_full_version()").fetchone()
        transformed = conn.execute(
            "SELECT ST_SRID(g), ST_X(g), ST_Y(g) FROM ST_Transform("
            "ST_SetSRID(ST_MakePoint(113.2644, 23.1291), 4326), 4490) AS g"
        ).fetchone()
    assert version is not None and "POSTGIS=" in version[0]
    assert transformed is not None
    srid, lon, lat = transformed
    assert srid == 4490
    # CGCS2000 and WGS 84 agree to well under a metre.
    assert lon == pytest.approx(113.2644, abs=1e-5)
    assert lat == pytest.approx(23.1291, abs=1e-5)


def test_optional_extensions_installed_when_available(embedded_cluster: EmbeddedCluster) -> None:
    with psycopg.connect(embedded_cluster.dsn) as conn:
        rows = conn.execute(
            "SELECT name, installed_version IS NOT NULL FROM pg_available_extensions "
            "WHERE name IN ('postgis', 'postgis_raster', 'pgrouting')"
        ).fetchall()
    installed = {name: is_installed for name, is_installed in rows}
    assert installed.get("postgis") is True
    assert all(installed.values())


def test_listens_only_where_configured(embedded_cluster: EmbeddedCluster) -> None:
    with psycopg.connect(embedded_cluster.dsn) as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('listen_addresses', 'port', 'unix_socket_directories')"
        ).fetchall()
    settings = {name: setting for name, setting in rows}
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "port": str(embedded_cluster.port),
        "unix_socket_directories": str(embedded_cluster.socket_dir),
    }
    assert embedded_cluster.socket_dir.is_relative_to(embedded_cluster.data_dir)


def test_files_belong_to_the_account_that_runs_the_cluster(
    embedded_cluster: EmbeddedCluster,
) -> None:
    # PostgreSQL refuses root, so as root the cluster belongs to `postgres`.
    expected = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
    for path in (
        embedded_cluster.root,
        embedded_cluster.pgdata,
        embedded_cluster.pgdata / "PG_VERSION",
        embedded_cluster.socket_dir,
        embedded_cluster.log_file,
    ):
        assert path.stat().st_uid == expected, path
    server_pid = postmaster_pid(embedded_cluster)
    assert Path(f"/proc/{server_pid}").stat().st_uid == expected


def test_second_start_reuses_the_running_cluster(embedded_cluster: EmbeddedCluster) -> None:
    before = postmaster_pid(embedded_cluster)
    assert embedded_cluster.start() == embedded_cluster.dsn
    assert postmaster_pid(embedded_cluster) == before


def test_data_survives_stop_and_start(embedded_cluster: EmbeddedCluster) -> None:
    with psycopg.connect(embedded_cluster.dsn) as conn:
        conn.execute("CREATE TABLE kept (id int PRIMARY KEY, geom geometry(Point, 4490))")
        conn.execute("INSERT INTO kept VALUES (1, ST_SetSRID(ST_MakePoint(113.3, 23.1), 4490))")
    embedded_cluster.stop()
    assert not embedded_cluster.is_running()
    embedded_cluster.stop()  # a second stop is a no-op

    embedded_cluster.start()
    with psycopg.connect(embedded_cluster.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (1,)


def test_start_after_kill_9(embedded_cluster: EmbeddedCluster) -> None:
    with psycopg.connect(embedded_cluster.dsn) as conn:
        conn.execute("SET synchronous_commit = on")  # the cluster's default is off
        conn.execute("CREATE TABLE committed_before_kill AS SELECT 1 AS id")
    os.kill(postmaster_pid(embedded_cluster), signal.SIGKILL)
    wait_for(
        lambda: not embedded_cluster.is_running(),
        "postgres outlived SIGKILL",
        timeout=5,
        interval=0.01,
    )
    assert not embedded_cluster.is_running()
    assert (embedded_cluster.pgdata / "postmaster.pid").exists()  # stale

    embedded_cluster.start()
    with psycopg.connect(embedded_cluster.dsn) as conn:
        assert conn.execute("SELECT id FROM committed_before_kill").fetchone() == (1,)


def test_start_immediately_after_kill_9(embedded_cluster: EmbeddedCluster) -> None:
    """No waiting: the dying postmaster may still look alive when start() looks."""
    os.kill(postmaster_pid(embedded_cluster), signal.SIGKILL)
    embedded_cluster.start()
    assert embedded_cluster.is_running()


def test_context_manager_starts_and_stops(embedded_cluster: EmbeddedCluster) -> None:
    same = EmbeddedCluster(embedded_cluster.data_dir, port=embedded_cluster.port)
    with same as running:
        assert running.is_running()
    assert not embedded_cluster.is_running()
    embedded_cluster.start()  # leave it running for the other tests


def test_port_taken_by_another_program(embedded_workdir: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        cluster = EmbeddedCluster(embedded_workdir / "port-taken", port=port)
        with pytest.raises(EmbeddedClusterError) as raised:
            cluster.start()
    assert str(port) in raised.value.message
    assert "ONEMAP_EMBEDDED_PORT" in raised.value.message
    assert not cluster.pgdata.exists()  # refused before initdb


def _private_data_dir(workdir: Path, name: str) -> tuple[Path, Path]:
    """A checkout's data directory inside a 0700 directory, like root's home."""
    private = workdir / name
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    return private, private / "checkout" / ".onemap"


def test_as_root_a_private_data_dir_gets_a_cluster_postgres_can_reach(
    embedded_workdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    private, data_dir = _private_data_dir(embedded_workdir, "private-home")
    assert first_blocked_parent(data_dir / "pg", "postgres") == private
    cluster = EmbeddedCluster(data_dir, port=free_port())
    if os.geteuid() != 0:  # our own 0700 directory: nothing to move
        assert cluster.root == data_dir / "pg" and not cluster.relocated
        return
    assert cluster.root == pg_host.relocated_root(data_dir) and cluster.relocated
    assert cluster.root.is_relative_to(Path("/var/lib/onemap"))
    try:
        with caplog.at_level("INFO", logger="onemap.embedded"):
            cluster.start()
        assert f"The embedded cluster of {data_dir} lives in {cluster.root}" in caplog.text
        assert first_blocked_parent(cluster.pgdata, "postgres") is None
        postgres = pwd.getpwnam("postgres").pw_uid
        for path in (cluster.root, cluster.pgdata, cluster.socket_dir, cluster.log_file):
            assert path.is_relative_to(cluster.root) and path.stat().st_uid == postgres, path
        with psycopg.connect(cluster.dsn) as conn:
            conn.execute("CREATE TABLE kept AS SELECT ST_MakePoint(113.3, 23.1) AS geom")
        cluster.stop()
        assert not cluster.is_running() and data_dir.is_dir()  # caches and uploads stay here

        private.chmod(0o755)  # reachable now, but the data stays where it is
        again = EmbeddedCluster(data_dir, port=cluster.port)
        assert again.root == cluster.root
        with again, psycopg.connect(again.dsn) as conn:
            assert conn.execute("SELECT ST_AsText(geom) FROM kept").fetchone() == (
                "POINT(113.3 23.1)",
            )
        assert not again.is_running()
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root.parent, ignore_errors=True)


def test_a_cluster_already_in_a_private_data_dir_is_not_left_for_an_empty_one(
    embedded_workdir: Path,
) -> None:
    private, data_dir = _private_data_dir(embedded_workdir, "private-old-cluster")
    (data_dir / "pg" / "data").mkdir(parents=True)
    (data_dir / "pg" / "data" / "PG_VERSION").write_text("15\n")
    cluster = EmbeddedCluster(data_dir, port=free_port())
    assert cluster.root == data_dir / "pg" and not cluster.relocated
    if os.geteuid() == 0:  # only root hands the cluster to `postgres`
        with pytest.raises(EmbeddedClusterError, match=f"cannot enter {private}"):
            cluster.start()
        assert not pg_host.relocated_root(data_dir).exists()


def test_long_data_dir_gets_a_short_socket_dir() -> None:
    cluster = EmbeddedCluster(Path("/srv") / ("deep" * 30), port=55432)
    assert len(os.fsencode(cluster.socket_dir / ".s.PGSQL.55432.lock")) <= 107
    assert cluster.socket_dir == EmbeddedCluster(cluster.data_dir, port=55432).socket_dir


def test_stop_is_a_no_op_without_a_cluster(tmp_path: Path) -> None:
    cluster = EmbeddedCluster(tmp_path / "never-started")
    assert not cluster.is_running()
    cluster.stop()
