"""``onemap serve``: database (embedded or given), migrations, sample data, HTTP.

The HTTP server is granian by default (``ONEMAP_SERVER``), uvicorn on request: the same app
either way, with the tile-cache fast path in front of FastAPI (docs/adr/0004-tiles.md).
"""

from __future__ import annotations

import functools
import logging
import os
import signal
from typing import Any

import uvicorn
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server import MPServer as Granian  # worker processes, as with uvicorn
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.supervisors import Multiprocess

from ingest.sample import load_sample_data
from layers.db import connect
from layers.migrate import migrate
from layers.settings import ServiceSettings
from layers.versions import drop_orphans
from ogc.app import create_app
from ogc.database import database
from ogc.http_protocol import CoalescingHttpToolsProtocol
from ogc.routers.tiles_fastpath import in_front_of

log = logging.getLogger("onemap.serve")

# A worker that has not finished its lifespan shutdown by then is killed, so that the
# embedded cluster is still stopped (granian would otherwise wait for ever).
WORKER_STOP_TIMEOUT_S = 30


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
    # Until the HTTP server installs its own handlers (and after uvicorn restores this one
    # and re-raises SIGTERM), SIGTERM becomes SystemExit, so the cluster is stopped.
    # granian handles SIGINT/SIGTERM itself: ``serve()`` returns after its workers stopped.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with database(settings) as url:
        prepare(url, settings)
        serve_http(settings, url)
    # leaving the block stops the embedded cluster


def serve_http(settings: ServiceSettings, url: str) -> None:
    """Serve the app on ``url`` until SIGINT/SIGTERM (also what bench/tiles_bench.py runs)."""
    if settings.server == "uvicorn":
        run_uvicorn(uvicorn_config(settings, url))
    else:
        loader = functools.partial(proxied_app, settings, url)
        granian_server(settings).serve(target_loader=loader, wrap_loader=False)


def run_uvicorn(config: uvicorn.Config) -> None:
    """One server process, or a supervisor with ``workers`` processes sharing one socket
    (``uvicorn.Server`` alone ignores ``workers``; this is what ``uvicorn.run`` does)."""
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()


def proxied_app(settings: ServiceSettings, url: str) -> Any:
    """The app as each granian worker builds it (a picklable loader: no environment
    round trip, so command-line overrides reach the workers too). X-Forwarded-Proto/-For
    are honoured exactly as uvicorn's ``proxy_headers=True`` does (granian's own wrapper
    ignores the scheme unless X-Forwarded-For is also sent)."""
    trusted = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")  # uvicorn's default
    app: Any = create_app(settings, url)  # Starlette's and uvicorn's ASGI types differ
    # Tile-cache hits need neither the client address nor the scheme: they go first.
    proxied: Any = ProxyHeadersMiddleware(app, trusted_hosts=trusted)
    return in_front_of(app, proxied)


def app_from_environment() -> Any:
    """Factory for uvicorn worker processes (settings from ``ONEMAP_*`` variables)."""
    return in_front_of(create_app(ServiceSettings()))


def granian_server(settings: ServiceSettings) -> Granian:
    level = settings.log_level.lower()
    return Granian(
        "ogc.app:create_app",  # names the processes; the app comes from the loader
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,  # with lifespan: the pool and catalog listener live there
        workers=settings.workers,
        websockets=False,
        log_level=LogLevels(level) if level in LogLevels.__members__ else LogLevels.debug,
        log_access=settings.access_log,
        workers_kill_timeout=WORKER_STOP_TIMEOUT_S,
    )


def uvicorn_config(settings: ServiceSettings, url: str) -> uvicorn.Config:
    if settings.workers > 1:
        # Worker processes build their own app from the environment.
        os.environ["ONEMAP_DATABASE_URL"] = url
        app: Any = "ogc.serve:app_from_environment"
    else:
        app = in_front_of(create_app(settings, url))
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.access_log,
        http=CoalescingHttpToolsProtocol,  # head and body in one send()
        proxy_headers=True,
        factory=settings.workers > 1,
        workers=settings.workers,
    )
