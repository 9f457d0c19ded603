"""The database a command works on: the configured URL, or the embedded cluster.

Kept apart from the web app so CLI commands do not import the web stack.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from layers.embedded import EmbeddedCluster
from layers.settings import DatabaseSettings

log = logging.getLogger("onemap.database")


@contextlib.contextmanager
def database(settings: DatabaseSettings) -> Iterator[str]:
    """The configured database URL, or an embedded cluster running for the block."""
    if settings.database_url:
        yield settings.database_url
        return
    cluster = EmbeddedCluster(settings.data_dir.resolve(), settings.embedded_port)
    already_running = cluster.is_running()  # e.g. `onemap layers list` beside `onemap serve`
    url = cluster.start()
    log.info("embedded PostGIS running at %s (data in %s)", url, cluster.root)
    try:
        yield url
    finally:
        if not already_running:
            log.info("stopping the embedded PostGIS cluster")
            cluster.stop()
