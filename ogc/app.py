"""The composition root: ``create_app(settings)`` builds the one public API."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from starlette.types import Receive, Scope, Send

from ingest.workdirs import sweep
from layers.errors import OneMapError
from layers.settings import ServiceSettings
from ogc import services
from ogc.errors import ErrorObserver, install_error_handlers
from ogc.gate.denials import count_error, count_guard_refusal
from ogc.gate.middleware import CallerMiddleware
from ogc.gate.ownership import may_publish_in
from ogc.http.asgi_types import ASGIApp, Ready
from ogc.http.cors import CorsMiddleware
from ogc.http.disconnect import CancelOnDisconnect
from ogc.http.head_requests import HeadAsGet
from ogc.http.keyed_links import KeyedLinks
from ogc.http.limits import HeadCaps, HeadLimits, body_caps
from ogc.http.policy import GZIP_MINIMUM, ResponsePolicy
from ogc.http.secure_headers import SecureHeaders
from ogc.http.write_guard import OnRefusal, WriteGuard
from ogc.observe.exposition import Exposition
from ogc.observe.middleware import ObserveRequests
from ogc.observe.request_log import RequestLog
from ogc.observe.request_metrics import RequestMetrics
from ogc.openapi.v30 import serve_openapi_30
from ogc.routers import (
    admin,
    admin_layers,
    admin_subscriptions,
    collections,
    health,
    items,
    items_history,
    items_write,
    landing,
    metrics,
    processes,
    publish,
    queryables,
    search,
    tiles,
    tiles_dataset,
    viewer,
    wmts,
)
from ogc.routers.feature_fastpath import FeatureFastPath
from ogc.routers.tiles_fastpath import TileCacheFastPath
from ogc.state import AppState
from spatial import DEFAULT_REGISTRY, AnalysisRegistry

log = logging.getLogger("onemap.app")


class OneMapApp(FastAPI):
    """FastAPI with OneMap's fast layer in front of the whole framework stack.

    The fast paths (cached public tiles, single public features) answer before FastAPI's own
    outer layers (error, telemetry and body-limit middleware) and routing, and hand every
    other request to the framework. As an ``add_middleware`` layer they sat inside those and
    served ~25 % fewer cached tiles per second (docs/adr/0009-web-layer.md).
    """

    fast_layer: TileCacheFastPath | None = None
    guarded: ASGIApp | None = None  # the framework behind the request caps and headers
    front: ASGIApp | None = None  # the request observer, in front of the fast layer
    logs_requests = False  # the request log is on: every request must reach ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # as Starlette sets it: the fast paths read the app's state
        await (self.front or self.fast_layer or self.framework)(scope, receive, send)

    @property
    def answer_at_once(self) -> Callable[[Scope], Ready | None] | None:
        """How the HTTP protocol may answer a cache hit without starting the app (the fast
        layer's ``answer_at_once``; ``ogc.server.http_protocol``); None: never — no fast
        layer, or the request log wants every request's line."""
        if self.fast_layer is None or self.logs_requests:
            return None
        return self.fast_layer.answer_at_once

    async def framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The framework's own stack, behind the request caps and the security headers
        (outside Starlette's error middleware, so its 500s carry them): where the fast
        layer hands a request over."""
        await (self.guarded or self._starlette)(scope, receive, send)

    def guard(self, caps: HeadCaps) -> None:
        self.guarded = SecureHeaders(HeadLimits(self._starlette, caps))

    async def _starlette(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


def create_app(
    settings: ServiceSettings,
    database_url: str | None = None,
    registry: AnalysisRegistry = DEFAULT_REGISTRY,
    *,
    fast_layer: bool = True,
) -> FastAPI:
    """Build the app; ``database_url`` overrides settings (the embedded cluster's URL),
    ``registry`` holds the analyses offered as processes; ``fast_layer=False`` leaves out
    the raw ASGI fast paths (the tests compare the two)."""
    url = database_url or settings.database_url
    if not url:
        raise ValueError("create_app needs a database URL (start the embedded cluster first)")
    state = AppState(settings=settings, database_url=url, registry=registry)
    app = OneMapApp(
        title=settings.title,
        description=settings.description,
        version="0.1.0",
        openapi_url=None,  # /api and /api.html: ogc/routers/landing.py (per catalog, negotiated)
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan(state),
        max_body_size=body_caps(settings)[0],  # 413 (FastAPI's limiter: Content-Length, stream)
    )
    app.state.onemap = state
    install_error_handlers(app, observe=_denials_of(state))
    app.guard(HeadCaps.of(settings))  # URL and header caps; security headers
    policy = ResponsePolicy.of(settings)  # ogc/http: the routes and the fast layer share it
    app.add_middleware(CancelOnDisconnect)  # innermost: a read whose client left stops
    app.add_middleware(KeyedLinks, public_url=settings.public_url)  # tk= kept in links
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM, compresslevel=policy.gzip_level)
    app.add_middleware(CorsMiddleware, policy=policy)
    # writes: same origin; uploads: only from callers who may publish (the gate's caller)
    app.add_middleware(
        WriteGuard,
        settings=settings,
        may_upload=may_publish_in,
        on_refusal=_guard_refusals_of(state),
    )
    # Who asks; refusals answered, private answers marked.
    app.add_middleware(CallerMiddleware, resolver=state.callers, policy=policy)
    app.add_middleware(HeadAsGet)  # outside GZip and CORS: a HEAD gets the GET's headers
    if fast_layer:  # outermost; cached tiles are the cheapest thing served
        features_fast = FeatureFastPath(app.framework, policy)
        tiles_fast = TileCacheFastPath(
            features_fast, policy, settings.tile_memory_mb * 2**20, state.callers
        )
        state.catalog_subscribers.append(tiles_fast.catalog_changed)
        state.purge_listeners.append(tiles_fast.tiles_purged)
        app.fast_layer = tiles_fast
    _observe(app, state)
    state.openapi = serve_openapi_30(app, settings, registry)
    for module in (
        landing,
        collections,
        queryables,
        items,
        items_write,
        items_history,
        health,
        metrics,
        publish,
        tiles,
        tiles_dataset,
        wmts,
        processes,
        admin,
        admin_layers,
        admin_subscriptions,
        viewer,
        search,
    ):
        upload = module is publish  # an upload has its own, larger cap
        app.include_router(module.router, max_body_size=body_caps(settings)[1] if upload else None)
    return app


def _observe(app: OneMapApp, state: AppState) -> None:
    """Every request counted, timed, named by its id and (ONEMAP_ACCESS_LOG) logged, in
    front of everything else; the counts and the app's gauges served at /metrics."""
    requests = RequestMetrics()
    inner = app.fast_layer or app.framework
    app.logs_requests = state.settings.access_log
    app.front = ObserveRequests(inner, requests, RequestLog() if app.logs_requests else None)
    state.metrics = Exposition(state, requests, app.fast_layer)


def _denials_of(state: AppState) -> ErrorObserver:
    """Route errors that deny a request, counted for the audit (``ogc.gate.denials``)."""

    def observe(request: Request, exc: OneMapError, status: int) -> None:
        count_error(state.access, request.scope, exc, status)

    return observe


def _guard_refusals_of(state: AppState) -> OnRefusal:
    """Writes the write guard refuses, counted as denials (``ogc.gate.denials``)."""

    def observe(scope: Scope, exc: OneMapError, status: int) -> None:
        count_guard_refusal(state.access, scope, exc, status)

    return observe


def _lifespan(state: AppState) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start every per-app service in order (``ogc.services.SERVICES``), stop in reverse."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sweep(state.settings.upload_dir)  # temp folders of ingests killed with an earlier server
        async with services.running(state):
            yield

    return lifespan
