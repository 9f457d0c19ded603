"""``onemap serve``: database (embedded or given), migrations, sample data, HTTP."""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

import uvicorn

from ingest.sample import load_sample_data
from layers.db import connect
from layers.migrate import migrate
from layers.settings import ServiceSettings
from layers.versions import drop_orphans
from ogc.app import create_app
from ogc.database import database

log = logging.getLogger("onemap.serve")


def prepare(url: str, settings: ServiceSettings) -> None:
    applied = migrate(url)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    with connect(url, autocommit=True) as conn:
        drop_orphans(conn, settings.raster_dir.resolve())
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
