"""What one running app holds: settings and every per-app service.

``create_app`` fills the first fields; the lifespan (``ogc/services/``) builds the rest in
order at start-up and stops them in reverse at shutdown. Nothing here is created by a
request: a service that is ``None`` is not started yet (or already stopped), and the
dependencies in ``ogc/deps.py`` answer 503 for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from psycopg_pool import AsyncConnectionPool

from layers.access.service import AccessService
from layers.access.signin import SignInDirectory
from layers.admission import Admission
from layers.probe import DatabaseProbe
from layers.replicas import ReadRouter
from layers.search.index import SearchIndexes
from layers.settings import ServiceSettings
from layers.watch import CatalogStore, ChangeCallback
from layers.webhooks.dispatch import Dispatcher
from ogc.gate.caller import CallerResolver
from ogc.openapi.v30 import OpenApiDocuments
from ogc.plans import Snapshot
from ogc.processes.runner import JobRunner
from spatial.registry import AnalysisRegistry
from tiles.purge import PurgeListener
from tiles.service import TileProducer

if TYPE_CHECKING:  # the exposition reads this state
    from ogc.observe.exposition import Exposition

log = logging.getLogger("onemap.app")
CANCEL_WAIT_S = 10.0  # how long a stopping service waits for its cancelled tasks


class BackgroundTasks:
    """The app's background tasks (catalog listener, job recovery, cache sweeps): each is
    held until it ends, and ``close`` cancels and awaits whatever still runs."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    @property
    def names(self) -> list[str]:
        return sorted(task.get_name() for task in self._tasks)

    async def close(self) -> None:
        await cancel_all(self._tasks)


async def cancel_all(tasks: Iterable[asyncio.Task[Any]], wait_s: float = CANCEL_WAIT_S) -> None:
    """Cancel ``tasks`` and wait until each has ended (their exceptions are theirs) — at most
    ``wait_s``: a task that does not end on its cancel is named in the log and left behind,
    so a shutdown always ends (a fresh-clone CI run once hung 15 minutes in one)."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    if not pending:
        return
    _, stuck = await asyncio.wait(pending, timeout=wait_s)
    for task in stuck:
        log.warning("task %s did not end within %.0f s of its cancel", task.get_name(), wait_s)


@dataclass
class AppState:
    settings: ServiceSettings
    database_url: str
    registry: AnalysisRegistry
    openapi: OpenApiDocuments | None = None
    pool: AsyncConnectionPool | None = None  # the primary's: writes, catalog, gate
    reads: ReadRouter | None = None  # the pool of each read (a standby, else the primary)
    probe: DatabaseProbe | None = None  # whether the database answers (/readyz reads it)
    admission: Admission | None = None  # this worker's bound on heavy requests
    access: AccessService | None = None
    store: CatalogStore | None = None
    snapshot: Snapshot | None = None  # the catalog and its plans, replaced on each change
    tile_producer: TileProducer | None = None
    search: SearchIndexes | None = None  # place-name search tables per layer version
    jobs: JobRunner | None = None
    signin: SignInDirectory | None = None  # the viewer's sign-in endpoints (OIDC on)
    webhooks: Dispatcher | None = None  # change notifications' delivery worker
    metrics: Exposition | None = None  # what /metrics answers (create_app builds it)
    background: BackgroundTasks = field(default_factory=BackgroundTasks)
    listener_ready: asyncio.Event = field(default_factory=asyncio.Event)
    # Catalog subscribers the composition root adds while building the app (the fast
    # layer's memory of hot tiles); the lifespan subscribes them to the store.
    catalog_subscribers: list[ChangeCallback] = field(default_factory=list)
    # Told of each edit purge (layer id, area) once its files are gone (the hot tiles).
    purge_listeners: list[PurgeListener] = field(default_factory=list)
    callers: CallerResolver = field(init=False)  # who is calling (ogc/gate/caller.py)

    def __post_init__(self) -> None:
        self.callers = CallerResolver(self.settings)
