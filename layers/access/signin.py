"""What the viewer needs to sign a person in with the identity provider, in the browser
(authorization code + PKCE, docs/adr/0012-viewer.md): the provider's authorization and
token endpoints from its discovery document, the public client id, the scopes and the
redirect URI. Nothing here is secret: a public client has no secret, and the page that
carries this is served to anyone.

The document is read by the server (the page never asks the provider for it), kept for
``jwks_cache_seconds`` and, after a failure, asked again at most once per
``jwks_refresh_min_seconds`` — a provider that is down costs one wait, not one per page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from layers.access import discovery
from layers.access.oidc_settings import OidcSettings, check_key_url

log = logging.getLogger("onemap.access")


@dataclass(frozen=True)
class SignInEndpoints:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str

    @property
    def token_origin(self) -> str:
        """The one other origin the page may send requests to (its CSP's connect-src)."""
        parts = urlsplit(self.token_endpoint)
        return f"{parts.scheme}://{parts.netloc}"


def browser_config(
    found: SignInEndpoints, settings: OidcSettings, redirect_uri: str
) -> dict[str, str]:
    """The sign-in settings the viewer page carries (``data-signin``)."""
    client_id = settings.viewer_client
    assert client_id is not None  # only asked when the viewer offers sign-in
    return {
        "issuer": found.issuer,
        "authorizationEndpoint": found.authorization_endpoint,
        "tokenEndpoint": found.token_endpoint,
        "clientId": client_id,
        "scope": settings.viewer_scope,
        "redirectUri": redirect_uri,
    }


class SignInDirectory(discovery.ProviderCache):
    """The provider's sign-in endpoints, read from its discovery document when first
    asked (or preloaded at start) and kept; ``endpoints`` is safe from many tasks."""

    def __init__(
        self, settings: OidcSettings, fetch: discovery.FetchJson, clock: Callable[[], float]
    ) -> None:
        super().__init__(settings, fetch, clock)
        self._found: SignInEndpoints | None = None

    async def endpoints(self) -> SignInEndpoints | None:
        """The endpoints, or None while the provider cannot be read (no sign-in shown)."""
        await self._refresh_if(self._due)
        return self._found

    def _due(self) -> bool:
        if self._tried_at is None:
            return True
        age = self._clock() - self._tried_at
        if self._found is not None:
            return age >= self._settings.jwks_cache_seconds
        return age >= self._settings.jwks_refresh_min_seconds

    async def _load(self) -> None:
        try:
            self._found = await self._read()
        except (discovery.DiscoveryFailed, OSError, ValueError, httpx.HTTPError) as exc:
            # a stale document stays in use: a provider outage does not hide sign-in
            log.warning("the viewer's sign-in endpoints were not read: %s", exc)

    async def _read(self) -> SignInEndpoints:
        settings = self._settings
        assert settings.issuer is not None
        url = check_key_url(settings.viewer_discovery_url, "the issuer's discovery URL")
        document = await discovery.issuer_document(self._fetch, url, settings.issuer)
        methods = document.get("code_challenge_methods_supported")
        if methods is not None and "S256" not in _strings(methods):  # absent: not said
            raise discovery.DiscoveryFailed("the provider does not support PKCE with S256")
        return SignInEndpoints(
            issuer=settings.issuer,
            authorization_endpoint=discovery.endpoint(document, "authorization_endpoint"),
            token_endpoint=discovery.endpoint(document, "token_endpoint"),
        )


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []
