"""``onemap serve``: database (embedded or given), migrations, sample data, HTTP."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

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


def serve(settings: ServiceSettings) -> None:
    with database(settings) as url:
        prepare(url, settings)
        config = uvicorn_config(settings, url)
        uvicorn.Server(config).run()  # returns after SIGINT/SIGTERM; the cluster then stops


def uvicorn_config(settings: ServiceSettings, url: str) -> uvicorn.Config:
    common = {"host": settings.host, "port": settings.port, "log_level": settings.log_level,
              "proxy_headers": True}
    if settings.workers > 1:
        # Worker processes build their own app from the environment.
        os.environ["ONEMAP_DATABASE_URL"] = url
        return uvicorn.Config(
            "ogc.app:create_app_from_environment", factory=True, workers=settings.workers, **common
        )
    return uvicorn.Config(create_app(settings, url), **common)  # type: ignore[arg-type]
