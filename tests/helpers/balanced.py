"""OneMap replicas behind nginx on loopback: what the scale-out tests and bench/load_test.py run.

Each replica is ``onemap serve`` in its own process group (so a SIGKILL takes the whole
replica, as a killed container would), on a free 127.0.0.1 port, against one database and
one tile cache directory. nginx runs ``docker/nginx/nginx.conf`` itself, moved onto loopback
by ``loopback_nginx_conf``: the replicas' host names become their ports, the listen address
127.0.0.1, the log paths the work directory's.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.helpers.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "docker" / "nginx" / "nginx.conf"
UPSTREAM_SERVER = re.compile(r"server onemap-(\d+):8000")
START_TIMEOUT_S = 90


@dataclass
class Process:
    """A server process (group) on 127.0.0.1:``port``, its output appended to ``log``."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group: no clean shutdown, connections simply vanish."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_until(self, path: str, want: int = 200) -> None:
        def answered() -> bool:
            if not self.alive():
                raise RuntimeError(f"exited early: {self.log.read_text()[-3000:]}")
            try:
                return httpx.get(self.url + path, timeout=2).status_code == want
            except httpx.HTTPError:
                return False

        try:
            wait_for(answered, lambda: f"not ready: {self.log.read_text()[-3000:]}",
                     timeout=START_TIMEOUT_S, interval=0.3)  # fmt: skip
        except AssertionError:
            self.stop()
            raise


def _spawn(args: list[str], env: dict[str, str], port: int, log: Path) -> Process:
    with log.open("ab") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=out, start_new_session=True)
    return Process(proc, port, log)


def onemap_env(
    database_url: str, data_dir: Path, port: int, settings: dict[str, str]
) -> dict[str, str]:
    """The environment of a server process on ``database_url`` and 127.0.0.1:``port``: this
    one's without its ``ONEMAP_*``, no sample data, quiet logs, and ``settings`` as
    ``ONEMAP_*`` variables (names without the prefix)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEMAP_")}
    env |= {
        "ONEMAP_DATABASE_URL": database_url,
        "ONEMAP_DATA_DIR": str(data_dir),
        "ONEMAP_HOST": "127.0.0.1",
        "ONEMAP_PORT": str(port),
        "ONEMAP_LOAD_SAMPLE_DATA": "false",
        "ONEMAP_LOG_LEVEL": "warning",
        "PYTHONPATH": str(ROOT),
    }
    return env | {f"ONEMAP_{name.upper()}": value for name, value in settings.items()}


def start_replica(
    database_url: str, data_dir: Path, tile_cache: Path, settings: dict[str, str]
) -> Process:
    """``onemap serve`` on a free port, ready (``/readyz`` 200) when this returns."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = onemap_env(database_url, data_dir, port, {"tile_cache_dir": str(tile_cache)} | settings)
    args = [sys.executable, "-m", "ogc.cli.main", "serve"]
    replica = _spawn(args, env, port, data_dir / "serve.log")
    replica.wait_until("/readyz")
    return replica


def loopback_nginx_conf(ports: Sequence[int], listen: int, workdir: Path) -> Path:
    """docker/nginx/nginx.conf with replica N on ``ports[N-1]``, listening on
    127.0.0.1:``listen``, logging into ``workdir``; fails if the file no longer has the
    shape this relies on (so the test cannot drift from what compose runs)."""
    text = NGINX_CONF.read_text()
    named = [int(n) for n in UPSTREAM_SERVER.findall(text)]
    if named != list(range(1, len(ports) + 1)):
        raise AssertionError(f"{NGINX_CONF} names replicas {named}, not 1..{len(ports)}")
    text = UPSTREAM_SERVER.sub(lambda m: f"server 127.0.0.1:{ports[int(m[1]) - 1]}", text)
    text = _replace_once(text, "listen 8080;", f"listen 127.0.0.1:{listen};")
    text = _replace_once(text, "/var/log/nginx/", f"{workdir}/")
    conf = workdir / "nginx.conf"
    conf.write_text(text)
    return conf


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise AssertionError(f"{NGINX_CONF} should contain {old!r} once")
    return text.replace(old, new)


def nginx_command(conf: Path, workdir: Path, *extra: str) -> list[str]:
    """nginx on ``conf``, its pid, error log and temporary files in ``workdir``."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    globals_ = f"daemon off; pid {workdir}/nginx.pid; error_log {workdir}/error.log warn;"
    prefix = ["-p", f"{workdir}/", "-e", f"{workdir}/error.log"]
    return [nginx, *prefix, "-c", str(conf), "-g", globals_, *extra]


def start_nginx(ports: Sequence[int], workdir: Path) -> Process:
    listen = free_port()
    conf = loopback_nginx_conf(ports, listen, workdir)
    nginx = _spawn(nginx_command(conf, workdir), dict(os.environ), listen, workdir / "nginx.log")
    nginx.wait_until("/healthz")
    return nginx


@dataclass
class Balanced:
    replicas: list[Process]
    nginx: Process
    tile_cache: Path

    @property
    def access_log(self) -> Path:
        return self.nginx.log.parent / "access.log"


@contextmanager
def balanced(
    database_url: str, workdir: Path, count: int = 2, settings: dict[str, str] | None = None
) -> Iterator[Balanced]:
    """``count`` replicas sharing ``workdir/tiles`` and one database, nginx in front."""
    tile_cache = workdir / "tiles"
    tile_cache.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        replicas = []
        for n in range(1, count + 1):
            replica = start_replica(
                database_url, workdir / f"onemap-{n}", tile_cache, settings or {}
            )
            stack.callback(replica.stop)
            replicas.append(replica)
        nginx_dir = workdir / "nginx"
        nginx_dir.mkdir(exist_ok=True)
        nginx = start_nginx([r.port for r in replicas], nginx_dir)
        stack.callback(nginx.stop)
        yield Balanced(replicas, nginx, tile_cache)
