"""`onemap serve` as a user runs it: embedded PostGIS, sample data, clean stop, restart,
under uvicorn with several workers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from ingest.sample import SYNTHETIC_LAYERS
from layers.pg_host import cluster_root, relocated_root
from layers.settings import ServiceSettings
from ogc.app import create_app
from ogc.server.serve import uvicorn_config
from tests.conftest import free_port, world_readable_tempdir
from tests.helpers.wait import wait_for

TILE = "/collections/gd-counties/tiles/WebMercatorQuad/7/55/104"


def _start(
    data_dir: Path, http_port: int, pg_port: int, log: Path, *options: str
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEMAP_")}
    env |= {
        "ONEMAP_DATA_DIR": str(data_dir),
        "ONEMAP_PORT": str(http_port),
        "ONEMAP_EMBEDDED_PORT": str(pg_port),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ogc.cli.main", "serve", *options],
            env=env,
            stdout=out,
            stderr=out,
        )


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    def ready() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"onemap serve exited early:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, lambda: f"not ready:\n{log.read_text()[-3000:]}", timeout=90, interval=0.5)


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


@pytest.mark.slow
def test_serve_from_a_private_directory_stops_restarts_and_keeps_data(tmp_path: Path) -> None:
    """The checkout in a 0700 directory, as in root's home: as root the cluster moves where
    the postgres account can reach it; caches stay in the data directory."""
    private = Path(tempfile.mkdtemp(prefix="onemap-private-"))  # 0700
    data_dir = private / "checkout" / ".onemap"
    cluster = cluster_root(data_dir)
    http_port, pg_port, log = free_port(), free_port(), tmp_path / "serve.log"
    try:
        proc = _start(data_dir, http_port, pg_port, log)
        _wait_ready(http_port, proc, log)
        base = f"http://127.0.0.1:{http_port}"
        body = httpx.get(f"{base}/collections/gd-counties/items").json()
        assert body["numberMatched"] == 124
        assert httpx.get(f"{base}{TILE}").status_code == 200
        assert _stop(proc) == 0
        assert _cluster_stopped(cluster, pg_port), "cluster left running"

        first_run = log.read_text()
        assert f"data in {cluster}" in first_run
        assert (os.geteuid() == 0) == (cluster == relocated_root(data_dir))
        assert any(path.is_file() for path in (data_dir / "tiles").rglob("*"))  # tile cache
        proc = _start(data_dir, http_port, pg_port, log)
        _wait_ready(http_port, proc, log)
        layers = httpx.get(f"{base}/readyz").json()["layers"]
        assert _stop(proc) == 0
        second_run = log.read_text()[len(first_run) :]
        assert layers == 3 + 1 + len(SYNTHETIC_LAYERS) + 1  # + gd-dem, synthetic-protected-zones
        assert "published version" not in second_run, "the second start re-ingested data"
        assert "sample data already loaded" in second_run
    finally:
        if cluster != data_dir / "pg":
            shutil.rmtree(cluster.parent, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)


def _cluster_stopped(cluster: Path, pg_port: int) -> bool:
    """No postmaster.pid and nothing listening on the cluster's port any more."""
    with socket.socket() as sock:
        listening = sock.connect_ex(("127.0.0.1", pg_port)) == 0
    return not listening and not (cluster / "data" / "postmaster.pid").exists()


@pytest.mark.slow
def test_workers_serve_and_stop_the_cluster_on_sigterm(tmp_path: Path) -> None:
    data_dir = world_readable_tempdir("onemap-serve-")
    http_port, pg_port, log = free_port(), free_port(), tmp_path / "serve.log"
    proc = _start(data_dir, http_port, pg_port, log, "--workers", "2")
    _wait_ready(http_port, proc, log)
    base = f"http://127.0.0.1:{http_port}"
    with httpx.Client(base_url=base, headers={"Accept-Encoding": "gzip"}) as client:
        first, again = client.get(TILE), client.get(TILE)  # made, then a cache hit
        page = client.get("/collections/gd-counties/items", params={"f": "csv", "limit": 50})
        behind_proxy = client.get("/", headers={"X-Forwarded-Proto": "https"}).json()
    assert first.status_code == again.status_code == 200
    assert first.headers["server"] == "uvicorn"
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert page.status_code == 200 and len(page.text.splitlines()) == 51  # streamed
    assert behind_proxy["links"][0]["href"].startswith("https://")  # as uvicorn's proxy_headers
    assert _stop(proc) == 0
    assert _cluster_stopped(data_dir / "pg", pg_port), "cluster left running"
    assert log.read_text().count("Finished server process") == 2  # each worker shut down


def test_uvicorn_settings_follow_the_service_settings() -> None:
    settings = ServiceSettings(host="0.0.0.0", port=8123, log_level="warning", access_log=True)
    config = uvicorn_config(settings, "postgresql://nobody@127.0.0.1:1/none")
    assert (config.host, config.port, config.workers) == ("0.0.0.0", 8123, 1)
    # the request log is the app's (ogc.observe), so uvicorn's own stays off
    assert not config.access_log and config.proxy_headers and not config.factory
    assert config.http.__name__ == "CoalescingHttpToolsProtocol"  # type: ignore[union-attr]


def test_readyz_is_503_without_a_database() -> None:
    settings = ServiceSettings(database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    client = TestClient(create_app(settings))  # no lifespan: nothing connected
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "catalog not loaded" in response.json()["problems"]
    assert client.get("/collections").status_code == 503
    assert client.get("/healthz").status_code == 200
