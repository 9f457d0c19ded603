"""The servers the tile benchmark measures, each a subprocess on a free 127.0.0.1 port:
OneMap as `onemap serve` runs it, TiPg, and nginx serving OneMap's tile cache directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A subprocess serving HTTP on 127.0.0.1; stopped with SIGTERM. Its output goes to
    ``log`` (appended), to see why a server did not start."""

    def __init__(
        self, args: list[str], env: dict[str, str], port: int, probe: str, log: Path
    ) -> None:
        self.port = port
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                args,
                env={**os.environ, **env},
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server did not start: {args}; see {log}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)


def onemap_server(url: str, cache: Path, workdir: Path, server: str | None = None) -> Server:
    """OneMap's app served exactly as `onemap serve` serves it (``ogc.server.serve.serve_http``,
    same settings), 2 workers like the others; ``server`` overrides ONEMAP_SERVER."""
    port = free_port()
    env = {
        "ONEMAP_HOST": "127.0.0.1",
        "ONEMAP_PORT": str(port),
        "ONEMAP_WORKERS": "2",
        "ONEMAP_LOG_LEVEL": "warning",
        "ONEMAP_DATA_DIR": str(workdir / "onemap-data"),
        "ONEMAP_TILE_CACHE_DIR": str(cache),
        "ONEMAP_POOL_MIN_SIZE": "8",  # connections opened at start, as a production setup would
        "ONEMAP_POOL_MAX_SIZE": "8",
        "PYTHONPATH": str(ROOT),
    }
    if server:
        env["ONEMAP_SERVER"] = server
    code = (
        "import sys; from layers.settings import ServiceSettings; "
        "from ogc.server.serve import serve_http; serve_http(ServiceSettings(), sys.argv[1])"
    )
    return Server([sys.executable, "-c", code, url], env, port, "/readyz", workdir / "onemap.log")


def tipg_server(url: str, tipg_bin: Path, workdir: Path) -> Server:
    port = free_port()
    env = {
        "DATABASE_URL": url,
        "TIPG_DB_SCHEMAS": '["onemap_data"]',
        "TIPG_MAX_FEATURES_PER_TILE": "10000",
        "DB_MAX_CONN_SIZE": "8",
    }
    args = [
        str(tipg_bin),
        "tipg.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return Server(args, env, port, "/collections", workdir / "tipg.log")


def nginx_server(root: Path, workdir: Path) -> Server:
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(
        "worker_processes 2; daemon off; pid " + str(workdir / "nginx.pid") + ";\n"
        "error_log " + str(workdir / "nginx-error.log") + ";\n"
        "events { worker_connections 1024; }\n"
        "http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;\n"
        "  types { application/vnd.mapbox-vector-tile mvt; }\n"
        f"  server {{ listen 127.0.0.1:{port}; root {root};\n"
        "    location / { add_header Cache-Control 'public, no-cache'; } } }\n"
    )
    return Server(["nginx", "-c", str(conf)], {}, port, "/", workdir / "nginx.log")
