"""Who calls: API keys and their counts, bearer-token verification and the viewer's
sign-in; and the change notifications sent out (webhooks)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

from layers.access.discovery import http_fetcher
from layers.access.oidc import TokenVerifier
from layers.access.service import AccessService
from layers.access.signin import SignInDirectory
from layers.watch import listen_for_changes
from layers.webhooks.dispatch import CHANNEL as OUTBOX_CHANNEL
from layers.webhooks.dispatch import Dispatcher
from ogc.state import AppState, cancel_all


@contextlib.asynccontextmanager
async def access(state: AppState) -> AsyncIterator[None]:
    """API keys on the request path: the lookup cache (dropped on ``onemap_keys``), quota
    and restricted-read counts flushed every second and, on the way out, once more."""
    assert state.pool is not None
    service = AccessService(state.pool, state.database_url, rates=state.callers.rates)
    await service.start()
    state.access = state.callers.keys = service
    try:
        yield
    finally:
        state.access = state.callers.keys = None
        await service.stop()


@contextlib.asynccontextmanager
async def identity(state: AppState) -> AsyncIterator[None]:
    """Bearer tokens: the app's one verifier (it caches the identity provider's keys and
    the tokens it verified), handed to the gate when an issuer is configured; and the
    viewer's sign-in endpoints, read from the provider in the background at start."""
    oidc = state.settings.oidc
    state.callers.verifier = TokenVerifier(oidc) if oidc.enabled else None
    if oidc.viewer_client is not None:
        fetch = http_fetcher(oidc.http_timeout_seconds)
        state.signin = SignInDirectory(oidc, fetch, time.monotonic)
        state.background.spawn(state.signin.endpoints(), "signin-discovery")
    try:
        yield
    finally:
        state.callers.verifier = None
        state.signin = None


@contextlib.asynccontextmanager
async def webhooks(state: AppState) -> AsyncIterator[None]:
    """Change notifications: this process's dispatcher (it delivers while it holds the
    leader lock, else stands by) and its wake-up on the outbox's NOTIFY."""
    if not state.settings.webhooks.enabled:
        yield
        return
    dispatcher = Dispatcher(state.database_url, state.settings.webhooks)
    state.webhooks = dispatcher
    tasks = [
        state.background.spawn(dispatcher.run(), "webhook-delivery"),
        state.background.spawn(
            listen_for_changes(state.database_url, dispatcher.wake, channel=OUTBOX_CHANNEL),
            "webhook-wake",
        ),
    ]
    try:
        yield
    finally:
        state.webhooks = None
        await cancel_all(tasks)
