"""`onemap serve` as a user runs it: embedded PostGIS, sample data, clean stop, restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from ingest.sample import SYNTHETIC_LAYERS
from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.conftest import free_port, world_readable_tempdir


def _start(data_dir: Path, http_port: int, pg_port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEMAP_")}
    env |= {
        "ONEMAP_DATA_DIR": str(data_dir),
        "ONEMAP_PORT": str(http_port),
        "ONEMAP_EMBEDDED_PORT": str(pg_port),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ogc.cli", "serve"], env=env, stdout=out, stderr=out
        )


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"onemap serve exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"not ready in 90 s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


@pytest.mark.slow
def test_serve_stop_and_restart_keeps_data(tmp_path: Path) -> None:
    data_dir = world_readable_tempdir("onemap-serve-")
    http_port, pg_port, log = free_port(), free_port(), tmp_path / "serve.log"

    proc = _start(data_dir, http_port, pg_port, log)
    _wait_ready(http_port, proc, log)
    body = httpx.get(f"http://127.0.0.1:{http_port}/collections/gd-counties/items").json()
    assert body["numberMatched"] == 124
    assert _stop(proc) == 0
    assert not (data_dir / "pg" / "data" / "postmaster.pid").exists(), "cluster left running"

    first_run = log.read_text()
    proc = _start(data_dir, http_port, pg_port, log)
    _wait_ready(http_port, proc, log)
    layers = httpx.get(f"http://127.0.0.1:{http_port}/readyz").json()["layers"]
    assert _stop(proc) == 0
    second_run = log.read_text()[len(first_run) :]
    assert layers == 3 + len(SYNTHETIC_LAYERS)
    assert "published version" not in second_run, "the second start re-ingested data"
    assert "sample data already loaded" in second_run


def test_readyz_is_503_without_a_database() -> None:
    settings = ServiceSettings(database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    client = TestClient(create_app(settings))  # no lifespan: nothing connected
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "catalog not loaded" in response.json()["problems"]
    assert client.get("/collections").status_code == 503
    assert client.get("/healthz").status_code == 200
