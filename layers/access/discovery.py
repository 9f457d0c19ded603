"""The identity provider's discovery document (``.well-known/openid-configuration``), read
once for its keys (``jwks.py``) and once for the viewer's sign-in (``signin.py``): one rule
for both — the document must name our issuer, and every URL in it must be https (http only
to a loopback address).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping

import httpx

from layers.access.oidc_settings import OidcSettings, check_key_url

FetchJson = Callable[[str], Awaitable[object]]
"""Fetch a URL and return its parsed JSON body (raises on any failure)."""


class DiscoveryFailed(Exception):
    """The document could not be used (logged; never shown to a caller)."""


def http_fetcher(timeout_seconds: float) -> FetchJson:
    """GET a URL with a short timeout and no redirects; the body must be JSON."""

    async def fetch(url: str) -> object:
        async with httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            return response.json()

    return fetch


async def issuer_document(fetch: FetchJson, url: str, issuer: str) -> Mapping[str, object]:
    """The discovery document at ``url``, when it is for ``issuer`` (OIDC Discovery §4.3:
    a document for another issuer must not be used)."""
    document = await fetch(url)
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        raise DiscoveryFailed("the discovery document is for another issuer")
    return document


def endpoint(document: Mapping[str, object], name: str) -> str:
    """The URL the document gives for ``name`` (``jwks_uri``, ``token_endpoint``, …)."""
    url = document.get(name)
    if not isinstance(url, str):
        raise DiscoveryFailed(f"the discovery document has no {name}")
    try:
        return check_key_url(url, f"the discovery document's {name}")
    except ValueError as exc:
        raise DiscoveryFailed(str(exc)) from exc


class ProviderCache(ABC):
    """Something read from the identity provider (its keys, the viewer's endpoints), kept
    and read again when due — one read at a time: requests that arrive while one runs wait
    for it (the first requests after start arrive together, and each needs what it reads)."""

    def __init__(
        self, settings: OidcSettings, fetch: FetchJson, clock: Callable[[], float]
    ) -> None:
        self._settings = settings
        self._fetch = fetch
        self._clock = clock
        self._tried_at: float | None = None  # last attempt, successful or not
        self._lock = asyncio.Lock()

    async def _refresh_if(self, due: Callable[[], bool]) -> None:
        if not due() and not self._lock.locked():
            return
        async with self._lock:
            if due():  # not read by another request while this one waited
                self._tried_at = self._clock()
                await self._load()

    @abstractmethod
    async def _load(self) -> None:
        """Read the thing from the provider (the subclass's own work)."""
