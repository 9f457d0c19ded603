"""Notebook setup: a OneMap database with the sample layers, and optionally a live server.

With ``ONEMAP_DATABASE_URL`` set, the notebooks use that database (migrated, with the sample
and synthetic layers loaded). Without it they start a throw-away embedded PostGIS cluster,
load the bundled layers into it, and stop it when the kernel exits — so they run top to
bottom anywhere `make test` runs.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

from ingest.sample import load_sample_data
from layers.embedded import EmbeddedCluster
from layers.migrate import migrate

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "ingest" / "sample"
DEM = SAMPLE_DIR / "gd_dem_0p2deg_cnmaps.tif"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database() -> str:
    """A database URL with the sample layers published."""
    url = os.environ.get("ONEMAP_DATABASE_URL")
    rasters = Path(tempfile.mkdtemp(prefix="onemap-notebook-rasters-"))  # the gd-dem layer's COG
    atexit.register(shutil.rmtree, rasters, ignore_errors=True)
    if url is None:
        workdir = Path(tempfile.mkdtemp(prefix="onemap-notebook-"))
        workdir.chmod(0o755)  # the unprivileged postgres account must reach it when we are root
        cluster = EmbeddedCluster(workdir, _free_port())
        url = cluster.start()
        atexit.register(shutil.rmtree, workdir, ignore_errors=True)
        atexit.register(cluster.stop)
    migrate(url)
    load_sample_data(url, raster_dir=rasters)
    return url


def serve(url: str) -> str:
    """Serve OneMap on a free loopback port in this kernel; returns its base URL."""
    import uvicorn

    from layers.settings import ServiceSettings
    from ogc.app import create_app

    port = _free_port()
    app = create_app(ServiceSettings(database_url=url, load_sample_data=False))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the OneMap server did not start")
        time.sleep(0.05)
    atexit.register(setattr, server, "should_exit", True)
    return f"http://127.0.0.1:{port}"


def context(url: str):  # type: ignore[no-untyped-def]
    """An open ``spatial.Context`` on ``url`` for the rest of the notebook."""
    from spatial import Context

    manager = Context.open(url)
    ctx = manager.__enter__()
    atexit.register(manager.__exit__, None, None, None)
    return ctx
