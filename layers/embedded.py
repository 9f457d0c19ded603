"""The embedded PostGIS cluster used when no database URL is configured.

OneMap initialises (``initdb``) and starts (``pg_ctl``) its own cluster from the
system's PostgreSQL + PostGIS packages, inside ``data_dir / "pg"``. It listens on
127.0.0.1 at its own port and unix socket directory, so it never meets a
PostgreSQL server the machine already runs.

PostgreSQL refuses to run as root. When OneMap runs as root (CI, containers) the
cluster files are handed to the unprivileged ``postgres`` account and every
PostgreSQL command runs as it (``runuser``); otherwise it runs as the current user.
When that account cannot reach ``data_dir`` (a checkout in root's 0700 home), the
cluster lives in ``/var/lib/onemap/<hash of data_dir>/pg`` instead (``cluster_root``).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import pwd
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from layers.embedded_conf import onemap_conf
from layers.errors import EmbeddedClusterError
from layers.pg_host import (
    FIX_HINT,
    PG_LIB_ROOT,
    clean_environment,
    cluster_root,
    find_pg_bindir,
    first_blocked_parent,
    hand_over,
    is_live_postgres,
    is_postgres,
    make_reachable_parents,
    postgis_available,
    service_account,
    utf8_c_locale_available,
    wait_for_exit,
)

__all__ = ["EmbeddedCluster", "find_pg_bindir", "first_blocked_parent", "postgis_available"]

logger = logging.getLogger("onemap.embedded")

HOST = "127.0.0.1"
MAX_SOCKET_PATH_BYTES = 107  # sun_path is 108 bytes including the final NUL
OPTIONAL_EXTENSIONS = ("postgis_raster", "pgrouting")
START_TIMEOUT_S = 60
READY_TIMEOUT_S = 30
LOG_TAIL_LINES = 25


class EmbeddedCluster:
    """A PostGIS cluster in ``data_dir / "pg"`` (or its relocation), owned and run by OneMap."""

    def __init__(
        self, data_dir: Path, port: int = 55432, *, dbname: str = "onemap", user: str = "onemap"
    ) -> None:
        self.data_dir = data_dir.absolute()
        self.port = port
        self.dbname = dbname
        self.user = user
        self.root = cluster_root(self.data_dir)

    @property
    def relocated(self) -> bool:
        """Whether the cluster lives outside ``data_dir`` (root, unreachable data_dir)."""
        return self.root != self.data_dir / "pg"

    @property
    def dsn(self) -> str:
        return f"postgresql://{quote(self.user)}@{HOST}:{self.port}/{quote(self.dbname)}"

    @property
    def pgdata(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        """``root / "run"``, or a short /tmp directory when that path is too long for a socket."""
        preferred = self.root / "run"
        if len(os.fsencode(preferred / f".s.PGSQL.{self.port}.lock")) <= MAX_SOCKET_PATH_BYTES:
            return preferred
        digest = hashlib.sha256(os.fsencode(self.root)).hexdigest()[:12]
        return Path("/tmp") / f"onemap-pg-{digest}"

    def start(self) -> str:
        """Initialise and start the cluster as needed, ensure the database; return the DSN."""
        bindir = self._bindir()
        if not postgis_available(bindir):
            raise EmbeddedClusterError(
                f"PostGIS is not installed for the PostgreSQL in {bindir}. "
                + FIX_HINT.format(what="it", packages=f"postgresql-{bindir.parent.name}-postgis-3")
            )
        self._prepare_directories()
        with self._start_lock():
            if not self._reuse_running_cluster():
                self._start_stopped_cluster(bindir)
            self._ensure_database()
        return self.dsn

    def stop(self) -> None:
        """Stop the cluster (fast shutdown); nothing to do when it is not running."""
        if not self.is_running():
            logger.debug("Embedded PostGIS cluster in %s is not running", self.root)
            return
        logger.info("Stopping the embedded PostGIS cluster in %s", self.root)
        pg_ctl = str(self._bindir() / "pg_ctl")
        self._run([pg_ctl, "stop", "-D", str(self.pgdata), "-m", "fast", "-w", "-s"], "pg_ctl stop")

    def is_running(self) -> bool:
        """Whether the postmaster named in our ``postmaster.pid`` is alive.

        A pid file left by a killed postmaster whose pid now belongs to another
        program does not count.
        """
        lines = self._postmaster_pid_lines()
        return bool(lines) and lines[0].isdigit() and is_live_postgres(int(lines[0]))

    def __enter__(self) -> EmbeddedCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- preparing the directories -------------------------------------------------------

    def _prepare_directories(self) -> None:
        account = service_account()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.relocated:
            make_reachable_parents(self.root)
            logger.info(
                "The embedded cluster of %s lives in %s, where the 'postgres' account that "
                "runs it can reach it", self.data_dir, self.root,
            )  # fmt: skip
        if account is not None:
            self._require_traversable(account)
        for directory in (self.root, self.socket_dir):
            directory.mkdir(mode=0o700, exist_ok=True)
            hand_over(directory, account)
        self._require_socket_dir_owner(account)

    def _require_traversable(self, account: pwd.struct_passwd) -> None:
        blocked = first_blocked_parent(self.root, account.pw_name)
        if blocked is not None:
            raise EmbeddedClusterError(
                f"The embedded cluster runs as the '{account.pw_name}' account (PostgreSQL "
                f"refuses root), which cannot enter {blocked}. Run `chmod o+x {blocked}` or "
                "set ONEMAP_DATA_DIR to a directory outside it (e.g. /var/lib/onemap)."
            )

    def _require_socket_dir_owner(self, account: pwd.struct_passwd | None) -> None:
        # The /tmp fallback is shared with other users: never use one someone else made.
        expected = account.pw_uid if account is not None else os.geteuid()
        if self.socket_dir.stat().st_uid != expected:
            raise EmbeddedClusterError(
                f"{self.socket_dir} belongs to another user than the one that runs the "
                "embedded cluster; remove it or choose another ONEMAP_DATA_DIR."
            )

    @contextmanager
    def _start_lock(self) -> Iterator[None]:
        """Serialise start() between processes (e.g. several uvicorn workers)."""
        lock_path = self.root / "start.lock"
        with open(lock_path, "a") as lock:
            hand_over(lock_path, service_account())
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _reuse_running_cluster(self) -> bool:
        """Whether our cluster is already running and ready (it may die while we wait)."""
        if not self.is_running():
            return False
        self._require_running_on_our_port()
        logger.info("Reusing the embedded PostGIS cluster already running in %s", self.root)
        if self._wait_until_ready():
            return True
        logger.info("The running cluster exited meanwhile; starting it again")
        return False

    def _start_stopped_cluster(self, bindir: Path) -> None:
        self._require_free_port()
        self._wait_for_killed_postmaster()
        if not (self.pgdata / "PG_VERSION").is_file():
            self._initdb(bindir)
        self._write_settings()
        self._pg_ctl_start(bindir)
        if not self._wait_until_ready():
            raise EmbeddedClusterError(
                f"The embedded cluster in {self.root} exited right after starting.\n"
                f"--- last lines of {self.log_file} ---\n{self._log_tail()}"
            )

    # --- initdb and pg_ctl ---------------------------------------------------------------

    def _bindir(self) -> Path:
        """The binaries of the cluster's own major version once it exists, else the newest."""
        version_file = self.pgdata / "PG_VERSION"
        if version_file.is_file():
            own = PG_LIB_ROOT / version_file.read_text().strip() / "bin"
            if (own / "pg_ctl").is_file():
                return own
        return find_pg_bindir()

    def _initdb(self, bindir: Path) -> None:
        logger.info("Initialising the embedded PostGIS cluster in %s", self.pgdata)
        locale = "--locale=C.UTF-8" if utf8_c_locale_available() else "--no-locale"
        self._run(
            [
                str(bindir / "initdb"),
                "-D", str(self.pgdata),
                "--auth=trust",
                f"--username={self.user}",
                "--encoding=UTF8",
                locale,
            ],
            "initdb",
        )  # fmt: skip
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            conf.write("\n# OneMap's settings, rewritten at every start\n")
            conf.write("include_if_exists = 'onemap.conf'\n")

    def _write_settings(self) -> None:
        """Rewrite onemap.conf so a changed port takes effect at the next start."""
        settings = self.pgdata / "onemap.conf"
        settings.write_text(onemap_conf(HOST, self.port, self.socket_dir))
        hand_over(settings, service_account())

    def _pg_ctl_start(self, bindir: Path) -> None:
        logger.info("Starting the embedded PostGIS cluster on %s:%d", HOST, self.port)
        command = [
            str(bindir / "pg_ctl"),
            "start",
            "-D", str(self.pgdata),
            "-l", str(self.log_file),
            "-w", "-t", str(START_TIMEOUT_S),
            "-s",
        ]  # fmt: skip
        try:
            self._run(command, "pg_ctl start")
        except EmbeddedClusterError as error:
            if "Address already in use" in error.message:  # taken since _require_free_port
                raise self._port_taken_error() from error
            raise

    def _run(self, args: list[str], what: str) -> None:
        """Run a PostgreSQL command as the cluster's account; fail with its output and log tail."""
        account = service_account()
        if account is not None:
            args = ["runuser", "-u", account.pw_name, "--", *args]
        result = subprocess.run(
            args,
            cwd=self.root,  # the account may not be able to enter our working directory
            env=clean_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise EmbeddedClusterError(
                f"{what} failed (exit status {result.returncode}) for the embedded cluster in "
                f"{self.root}:\n{output}\n--- last lines of {self.log_file} ---\n{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log yet)"
        return "\n".join(lines[-LOG_TAIL_LINES:])

    # --- the port ------------------------------------------------------------------------

    def _postmaster_pid_lines(self) -> list[str]:
        try:
            return (self.pgdata / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return []

    def _wait_for_killed_postmaster(self) -> None:
        """A killed postmaster blocks a new one until its process is gone (reaped)."""
        lines = self._postmaster_pid_lines()
        if lines and lines[0].isdigit() and is_postgres(int(lines[0])):
            logger.info("Waiting for the killed postmaster %s to exit", lines[0])
            wait_for_exit(int(lines[0]), timeout_s=10)

    def _require_running_on_our_port(self) -> None:
        lines = self._postmaster_pid_lines()
        running_port = lines[3].strip() if len(lines) > 3 else "?"
        if running_port != str(self.port):
            raise EmbeddedClusterError(
                f"The embedded cluster in {self.root} is already running on port {running_port}, "
                f"not {self.port}. Set ONEMAP_EMBEDDED_PORT={running_port} or stop it first."
            )

    def _require_free_port(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # Like PostgreSQL, ignore connections lingering in TIME_WAIT.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, self.port))
            except OSError as error:
                raise self._port_taken_error() from error

    def _port_taken_error(self) -> EmbeddedClusterError:
        return EmbeddedClusterError(
            f"Port {self.port} on {HOST} is already used by another program, not by the "
            f"embedded cluster in {self.root}. Set ONEMAP_EMBEDDED_PORT to a free port "
            "(or ONEMAP_DATABASE_URL to use an existing PostGIS server)."
        )

    # --- the database --------------------------------------------------------------------

    def _conninfo(self, dbname: str) -> str:
        return make_conninfo(
            host=HOST, port=self.port, dbname=dbname, user=self.user, connect_timeout=5
        )

    def _wait_until_ready(self) -> bool:
        """Wait until the server accepts connections; False if its postmaster exits."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                with psycopg.connect(self._conninfo("postgres")) as conn:
                    conn.execute("SELECT 1")
                return True
            except psycopg.OperationalError as error:
                if not self.is_running():
                    return False
                if time.monotonic() > deadline:
                    raise EmbeddedClusterError(
                        f"The embedded cluster on port {self.port} did not accept connections "
                        f"within {READY_TIMEOUT_S} s: {error}\n--- last lines of "
                        f"{self.log_file} ---\n{self._log_tail()}"
                    ) from error
                time.sleep(0.2)

    def _ensure_database(self) -> None:
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
            if conn.execute(query, (self.dbname,)).fetchone() is None:
                logger.info("Creating database %s", self.dbname)
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))
        with psycopg.connect(self._conninfo(self.dbname), autocommit=True) as conn:
            available = {
                name for (name,) in conn.execute("SELECT name FROM pg_available_extensions")
            }
            for extension in ("postgis", *OPTIONAL_EXTENSIONS):
                if extension in available:
                    create = sql.SQL("CREATE EXTENSION IF NOT EXISTS {} CASCADE")
                    conn.execute(create.format(sql.Identifier(extension)))
                else:
                    logger.info("Extension %s is not installed; continuing without it", extension)
