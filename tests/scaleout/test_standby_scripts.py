"""docker/postgres/*.sh on real PostgreSQL: the primary's init script, then the standby's
entrypoint copies it and runs as a streaming hot standby.

The postgres image is not here, so two shims stand in for what it provides: ``gosu`` (run a
command as an account) and ``docker-entrypoint.sh`` (start PostgreSQL on the data
directory; here on a free loopback port). The primary is an embedded cluster of its own, set
to the image's replication defaults.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from layers.embedded import EmbeddedCluster
from layers.pg_host import find_pg_bindir, service_account
from tests.conftest import free_port, world_readable_tempdir
from tests.helpers.wait import wait_for

POSTGRES = Path(__file__).resolve().parents[2] / "docker" / "postgres"
GOSU = """#!/bin/sh
user=$1; shift
if [ "$(id -u)" = 0 ]; then exec runuser -u "$user" -- "$@"; else exec "$@"; fi
"""
ENTRYPOINT = """#!/bin/sh
# the image's entrypoint, reduced to: run PostgreSQL on $PGDATA (arguments after "postgres")
shift
exec gosu {account} postgres -D "$PGDATA" -p "$STANDBY_PORT" -k "$PGDATA" \\
    -c listen_addresses=127.0.0.1 "$@"
"""

pytestmark = pytest.mark.slow  # servers of their own, started per module or test


@pytest.fixture()
def primary() -> Iterator[EmbeddedCluster]:
    workdir = world_readable_tempdir("onemap-standby-")
    cluster = EmbeddedCluster(workdir / "primary", free_port())
    try:
        cluster.start()
        # The embedded cluster keeps no WAL for others (wal_level minimal, for fast ingest);
        # the postgis image's defaults are what the scripts expect.
        with psycopg.connect(cluster.dsn, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET wal_level = replica")
            conn.execute("ALTER SYSTEM SET max_wal_senders = 10")
        cluster.stop()
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _shims(folder: Path) -> dict[str, str]:
    account = service_account()
    folder.mkdir()
    for name, text in (("gosu", GOSU), ("docker-entrypoint.sh", ENTRYPOINT)):
        (folder / name).write_text(text.format(account=account.pw_name if account else "-"))
        (folder / name).chmod(0o755)
    if account is None:  # not root: the data directory is ours already
        (folder / "chown").write_text("#!/bin/sh\n")
        (folder / "chown").chmod(0o755)
    return {"PATH": f"{folder}:{find_pg_bindir()}:{os.environ['PATH']}"}


def test_the_compose_scripts_make_a_streaming_standby(primary: EmbeddedCluster) -> None:
    init_env = os.environ | {
        "PGHOST": "127.0.0.1",
        "PGPORT": str(primary.port),
        "PGDATA": str(primary.pgdata),
        "POSTGRES_USER": primary.user,
        "POSTGRES_DB": primary.dbname,
        "REPLICATION_PASSWORD": "replication-secret",
    }
    init = subprocess.run(
        ["bash", str(POSTGRES / "primary-init.sh")], env=init_env, capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr
    with psycopg.connect(primary.dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")  # the image restarts after its init scripts
        conn.execute("CREATE TABLE replicated (n int)")
        conn.execute("INSERT INTO replicated VALUES (1)")
    standby_dir = primary.data_dir.parent / "standby"
    standby_dir.mkdir()
    standby_dir.chmod(0o755)
    port = free_port()
    env = os.environ | _shims(primary.data_dir.parent / "shims")
    env |= {
        "PGDATA": str(standby_dir / "data"),
        "PRIMARY_HOST": "127.0.0.1",
        "PRIMARY_PORT": str(primary.port),
        "REPLICATION_PASSWORD": "replication-secret",
        "STANDBY_PORT": str(port),
    }
    log = (primary.data_dir.parent / "standby.log").open("wb")
    standby = subprocess.Popen(
        ["bash", str(POSTGRES / "standby-entrypoint.sh"), "postgres", "-c", "hot_standby=on"],
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        _check_streaming(primary, f"postgresql://{primary.user}@127.0.0.1:{port}/{primary.dbname}")
    finally:
        if standby.poll() is None:
            os.killpg(standby.pid, signal.SIGINT)  # PostgreSQL's fast shutdown
        standby.wait(timeout=30)
        log.close()


def _check_streaming(primary: EmbeddedCluster, standby_url: str) -> None:
    def rows() -> list[tuple[int]] | None:
        try:
            with psycopg.connect(standby_url, autocommit=True, connect_timeout=2) as conn:
                assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
                return conn.execute("SELECT n FROM replicated ORDER BY n").fetchall()
        except psycopg.OperationalError:
            return None

    assert wait_for(rows, "the standby never answered", timeout=60, interval=0.5) == [(1,)]
    with psycopg.connect(primary.dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO replicated VALUES (2)")
        senders = conn.execute("SELECT application_name, state FROM pg_stat_replication").fetchall()
        slot = conn.execute(
            "SELECT active FROM pg_replication_slots WHERE slot_name = 'standby1'"
        ).fetchone()
    assert senders == [("standby1", "streaming")]
    assert slot == (True,)
    wait_for(lambda: rows() == [(1,), (2,)], "a later insert never reached the standby")
