"""``onemap serve``: database (embedded or given), migrations, sample data, HTTP."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from typing import Any

import uvicorn

from ingest.sample import load_sample_data
from layers.embedded import EmbeddedCluster
from layers.migrate import migrate
from layers.settings import DatabaseSettings, ServiceSettings
from ogc.app import create_app

log = logging.getLogger("onemap.serve")


@contextlib.contextmanager
def database(settings: DatabaseSettings) -> Iterator[str]:
    """The configured database URL, or an embedded cluster running for the block."""
    if settings.database_url:
        yield settings.database_url
        return
    cluster = EmbeddedCluster(settings.data_dir.resolve(), settings.embedded_port)
    already_running = cluster.is_running()  # e.g. `onemap layers list` beside `onemap serve`
    url = cluster.start()
    log.info("embedded PostGIS running at %s (data in %s)", url, settings.data_dir)
    try:
        yield url
    finally:
        if not already_running:
            log.info("stopping the embedded PostGIS cluster")
            cluster.stop()


def prepare(url: str, settings: ServiceSettings) -> None:
    applied = migrate(url)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    if settings.load_sample_data:
        for result in load_sample_data(url):
            log.info(result.summary())


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(settings: ServiceSettings) -> None:
    # uvicorn shuts down on SIGTERM and then re-raises it with the handler that was in
    # place before it started; ours turns that into SystemExit so the cluster is stopped.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with database(settings) as url:
        prepare(url, settings)
        config = uvicorn_config(settings, url)
        uvicorn.Server(config).run()  # returns after SIGINT/SIGTERM; the cluster then stops


def uvicorn_config(settings: ServiceSettings, url: str) -> uvicorn.Config:
    if settings.workers > 1:
        # Worker processes build their own app from the environment.
        os.environ["ONEMAP_DATABASE_URL"] = url
        app: Any = "ogc.app:create_app_from_environment"
    else:
        app = create_app(settings, url)
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        proxy_headers=True,
        factory=settings.workers > 1,
        workers=settings.workers,
    )
