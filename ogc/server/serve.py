"""``onemap serve``: database (embedded or given), migrations, sample data, HTTP.

The HTTP server is uvicorn with the one-write protocol (``ogc/server/http_protocol.py``); the app is
``create_app``'s, fast layer included (docs/adr/0004-tiles.md).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors import Multiprocess

from ingest.sample import load_sample_data
from layers.db import connect
from layers.migrate import migrate
from layers.settings import ServiceSettings
from layers.versions import drop_orphans
from ogc.app import create_app
from ogc.cli.database import database
from ogc.observe.logs import configure_logging
from ogc.server.http_protocol import CoalescingHttpToolsProtocol

log = logging.getLogger("onemap.serve")


def prepare(url: str, settings: ServiceSettings) -> None:
    applied = migrate(url)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    with connect(url, autocommit=True) as conn:
        drop_orphans(conn, settings.raster_dir.resolve())
    if settings.load_sample_data:
        for result in load_sample_data(url, raster_dir=settings.raster_dir):
            log.info(result.summary())


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(settings: ServiceSettings) -> None:
    configure_logging(settings.log_format, settings.log_level)
    # Until the HTTP server installs its own handlers (and after uvicorn restores this one
    # and re-raises SIGTERM), SIGTERM becomes SystemExit, so the cluster is stopped.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with database(settings) as url:
        prepare(url, settings)
        serve_http(settings, url)
    # leaving the block stops the embedded cluster


def serve_http(settings: ServiceSettings, url: str) -> None:
    """Serve the app on ``url`` until SIGINT/SIGTERM (also what bench/tiles_bench.py runs)."""
    run_uvicorn(uvicorn_config(settings, url))


def run_uvicorn(config: uvicorn.Config) -> None:
    """One server process, or a supervisor with ``workers`` processes sharing one socket
    (``uvicorn.Server`` alone ignores ``workers``; this is what ``uvicorn.run`` does)."""
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()


def app_from_environment() -> Any:
    """Factory for uvicorn worker processes (settings from ``ONEMAP_*`` variables)."""
    settings = ServiceSettings()
    configure_logging(settings.log_format, settings.log_level)
    return lasting(create_app(settings))


def lasting(app: Any) -> Any:
    """The server's app, made with everything imported so far: it all lives as long as the
    process, so it is moved out of the garbage collector's sight (``gc.freeze``) and the
    collector's passes walk only what requests allocate — 5–6 µs of the ~30 µs of CPU a
    cached tile cost a worker (bench/README.md)."""
    gc.collect()
    gc.freeze()
    return app


def uvicorn_config(settings: ServiceSettings, url: str) -> uvicorn.Config:
    if settings.workers > 1:
        # Worker processes build their own app from the environment.
        os.environ["ONEMAP_DATABASE_URL"] = url
        app: Any = "ogc.server.serve:app_from_environment"
    else:
        app = lasting(create_app(settings, url))
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # The request log is the app's (ogc.observe, ONEMAP_ACCESS_LOG), not uvicorn's; in
        # json mode uvicorn's records go to the root handler, so every line is JSON.
        access_log=False,
        log_config=None if settings.log_format == "json" else LOGGING_CONFIG,
        http=CoalescingHttpToolsProtocol,  # head and body in one send()
        proxy_headers=True,
        factory=settings.workers > 1,
        workers=settings.workers,
    )
