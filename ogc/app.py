"""The composition root: ``create_app(settings)`` builds the one public API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from ingest.workdirs import sweep
from layers.db import open_pool_lazily
from layers.settings import ServiceSettings
from layers.watch import CatalogStore, listen_for_changes
from ogc.errors import install_error_handlers
from ogc.head_requests import HeadAsGet
from ogc.openapi30 import serve_openapi_30
from ogc.routers import (
    collections,
    health,
    items,
    landing,
    processes,
    publish,
    queryables,
    tiles,
    tiles_dataset,
    wmts,
)
from ogc.routers.feature_fastpath import install_feature_fast_path
from ogc.routers.tiles_fastpath import install_fast_path
from ogc.state import AppState
from ogc.write_guard import WriteGuard

log = logging.getLogger("onemap.app")


def create_app(settings: ServiceSettings, database_url: str | None = None) -> FastAPI:
    """Build the app; ``database_url`` overrides settings (the embedded cluster's URL)."""
    url = database_url or settings.database_url
    if not url:
        raise ValueError("create_app needs a database URL (start the embedded cluster first)")
    state = AppState(settings=settings, database_url=url)
    app = FastAPI(
        title=settings.title,
        description=settings.description,
        version="0.1.0",
        openapi_url=None,  # /api and /api.html: ogc/routers/landing.py (per catalog, negotiated)
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan(state),
    )
    app.state.onemap = state
    install_error_handlers(app)
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=settings.gzip_level)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
        allow_methods=["GET", "HEAD", "OPTIONS", "POST"],  # POST: processes; WriteGuard: the rest
        allow_headers=["*"],
        expose_headers=["ETag", "Last-Modified", "Content-Crs", "Link"],
    )
    app.add_middleware(WriteGuard, settings=settings)  # writes: same origin; uploads: token
    app.add_middleware(HeadAsGet)  # outside GZip and CORS: a HEAD gets the GET's headers
    install_feature_fast_path(app)  # single public features skip the framework
    install_fast_path(app)  # outermost: cached public tiles skip the framework
    state.openapi = serve_openapi_30(app, settings)
    for module in (
        landing,
        collections,
        queryables,
        items,
        health,
        publish,
        tiles,
        tiles_dataset,
        wmts,
        processes,
    ):
        app.include_router(module.router)
    return app


def _lifespan(state: AppState):  # type: ignore[no-untyped-def]
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s = state.settings
        sweep(s.upload_dir)  # temp folders of ingests killed with an earlier server
        state.pool = open_pool_lazily(
            state.database_url,
            min_size=s.pool_min_size,
            max_size=s.pool_max_size,
            statement_timeout_ms=s.statement_timeout_ms,
        )
        await state.pool.open(wait=False)
        state.store = CatalogStore(state.pool)
        # The listener loads the catalog as soon as the database answers and again on
        # every change; until then /readyz says 503 and catalog routes say 503.
        listener = listen_for_changes(
            state.database_url, state.store.reload, ready=state.listener_ready
        )
        state.tasks.append(asyncio.create_task(listener, name="catalog-listener"))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.listener_ready.wait(), timeout=10)
        try:
            yield
        finally:
            jobs = getattr(app.state, "onemap_jobs", None)  # ogc.processes' runner, if made
            if jobs is not None:  # stop running jobs now rather than wait for them
                await asyncio.to_thread(jobs.shutdown)
            for task in state.tasks:
                task.cancel()
            await asyncio.gather(*state.tasks, return_exceptions=True)
            await state.pool.close()

    return lifespan
