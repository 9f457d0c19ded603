"""A real PostgreSQL streaming standby of a test-owned cluster, for the read-replica tests.

``pg_basebackup -R`` copies the primary (an ``EmbeddedCluster`` the test owns, switched to
``wal_level = replica``) and writes its ``primary_conninfo``; ``pg_ctl`` starts the copy on
its own loopback port. As root every command runs as the unprivileged ``postgres``
account (PostgreSQL refuses root), as the embedded cluster's own do.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psycopg

from layers.embedded import EmbeddedCluster
from layers.pg_host import clean_environment, find_pg_bindir, hand_over, service_account
from tests.conftest import free_port, world_readable_tempdir
from tests.helpers.wait import wait_for

HOST = "127.0.0.1"


def enable_streaming(primary: EmbeddedCluster) -> None:
    """WAL a standby can replay, and senders for it (a restart applies them;
    ``postgresql.auto.conf`` outranks the embedded cluster's own ``onemap.conf``)."""
    with psycopg.connect(primary.dsn, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET wal_level = 'replica'")
        conn.execute("ALTER SYSTEM SET max_wal_senders = 4")
    primary.stop()
    primary.start()


class Standby:
    def __init__(self, primary: EmbeddedCluster) -> None:
        self.primary = primary
        self.workdir = world_readable_tempdir("onemap-standby-")
        self.pgdata = self.workdir / "data"
        self.socket_dir = self.workdir / "run"
        self.port = free_port()
        self.bindir = find_pg_bindir()

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.primary.user}@{HOST}:{self.port}/{self.primary.dbname}"

    def create(self) -> None:
        self.socket_dir.mkdir(mode=0o700)
        hand_over(self.socket_dir, service_account())
        hand_over(self.workdir, service_account())
        self._run(
            "pg_basebackup",
            "-h", HOST, "-p", str(self.primary.port), "-U", self.primary.user,
            "-D", str(self.pgdata), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip

    def start(self) -> None:
        self._run(
            "pg_ctl", "start", "-D", str(self.pgdata), "-l", str(self.workdir / "standby.log"),
            "-w", "-t", "30", "-s", "-o", f"-p {self.port} -k {self.socket_dir}",
        )  # fmt: skip
        wait_for(self._in_recovery, "the standby never accepted connections", timeout=30)

    def stop(self, mode: str = "fast") -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", mode, "-w", "-s")

    def remove(self) -> None:
        self.stop("immediate")  # thrown away: no shutdown checkpoint to wait for
        shutil.rmtree(self.workdir, ignore_errors=True)

    def execute(self, statement: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute(statement).fetchall()

    def _in_recovery(self) -> bool:
        try:
            return bool(self.execute("SELECT pg_is_in_recovery()")[0][0])
        except psycopg.OperationalError:
            return False

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        account = service_account()
        if account is not None:
            command = ["runuser", "-u", account.pw_name, "--", *command]
        done = subprocess.run(
            command,
            cwd=Path("/"),
            env=clean_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"{program} failed: {done.stdout}{done.stderr}"
