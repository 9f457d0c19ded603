"""What one running app holds: settings, the pool and the catalog store."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from psycopg_pool import AsyncConnectionPool

from layers.settings import ServiceSettings
from layers.watch import CatalogStore
from ogc.openapi30 import OpenApiDocuments


@dataclass
class AppState:
    settings: ServiceSettings
    database_url: str
    pool: AsyncConnectionPool | None = None
    store: CatalogStore | None = None
    openapi: OpenApiDocuments | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    listener_ready: asyncio.Event = field(default_factory=asyncio.Event)
