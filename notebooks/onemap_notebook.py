"""Notebook setup: the URL of a OneMap server, and a publisher token.

An analyst has a URL: with ``ONEMAP_URL`` set (and ``ONEMAP_TOKEN`` to publish results) the
notebooks use that server and nothing else. Without it they start one in the kernel, so they
run top to bottom anywhere `make test` runs: on ``ONEMAP_DATABASE_URL`` when set (migrated,
the sample and synthetic layers loaded), else on a throw-away embedded PostGIS cluster that
stops when the kernel exits. Either way every analysis cell talks HTTP only.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

from ingest.sample import load_sample_data
from layers.embedded import EmbeddedCluster
from layers.migrate import migrate


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


def onemap() -> tuple[str, str | None]:
    """(base URL, publisher token): ``ONEMAP_URL``/``ONEMAP_TOKEN``, or a server started here."""
    base = os.environ.get("ONEMAP_URL")
    if base:
        return base.rstrip("/"), os.environ.get("ONEMAP_TOKEN")
    token = secrets.token_urlsafe(16)
    return serve(database(), token), token


def serve(url: str, token: str | None = None) -> str:
    """Serve OneMap on a free loopback port in this kernel; returns its base URL."""
    import uvicorn

    from layers.settings import ServiceSettings
    from ogc.app import create_app

    port = _free_port()
    app = create_app(
        ServiceSettings(database_url=url, load_sample_data=False, publisher_token=token)
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the OneMap server did not start")
        time.sleep(0.05)
    atexit.register(setattr, server, "should_exit", True)
    return f"http://127.0.0.1:{port}"
