"""The identity provider's signing keys: fetched, cached, refreshed on an unknown ``kid``.

Keys come from a discovery document's ``jwks_uri``, a JWKS URL or a JWKS file. They are
kept for ``jwks_cache_seconds``; a token naming a key id not in the set triggers at most one
re-fetch per ``jwks_refresh_min_seconds`` (concurrent requests share it), so a flood of
forged key ids costs the identity provider one request. When a re-fetch fails the keys
already held stay in use (an identity-provider outage does not sign everyone out).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from jwt import PyJWK, PyJWTError

from layers.access.discovery import (
    DiscoveryFailed,
    FetchJson,
    ProviderCache,
    endpoint,
    issuer_document,
)
from layers.access.oidc_settings import OidcSettings
from layers.errors import AuthenticationFailed

log = logging.getLogger("onemap.access")

KeyId = tuple[str, str]  # (kid, algorithm): one JWK may serve several algorithms (RS256, PS256)

# Algorithms a key of each type (and curve) can verify; symmetric ("oct") keys are never used.
ALGORITHMS_OF_KEY: Mapping[tuple[str, str | None], frozenset[str]] = {
    ("RSA", None): frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    ("EC", "P-256"): frozenset({"ES256"}),
    ("EC", "P-384"): frozenset({"ES384"}),
    ("EC", "P-521"): frozenset({"ES512"}),
    ("OKP", "Ed25519"): frozenset({"EdDSA"}),
    ("OKP", "Ed448"): frozenset({"EdDSA"}),
}


class KeysUnavailable(Exception):
    """The key set could not be fetched or read (logged; never shown to a caller)."""


def _algorithms_for(jwk: Mapping[str, Any], accepted: tuple[str, ...]) -> list[str]:
    kty = jwk.get("kty")
    crv = None if kty == "RSA" else jwk.get("crv")
    usable = ALGORITHMS_OF_KEY.get((str(kty), crv), frozenset())
    declared = jwk.get("alg")
    if declared is not None:
        usable = usable & {declared}
    return [alg for alg in accepted if alg in usable]


def signing_keys(document: object, accepted: tuple[str, ...]) -> dict[KeyId, PyJWK]:
    """The usable signature keys of a JWKS document, by (kid, algorithm). Keys without a
    ``kid``, for encryption, symmetric or malformed are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeysUnavailable("the document is not a JWKS (no 'keys' list)")
    keys: dict[KeyId, PyJWK] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        for alg in _algorithms_for(jwk, accepted):
            try:
                keys[(kid, alg)] = PyJWK(jwk, alg)
            except PyJWTError as exc:
                log.warning("JWKS key %r skipped for %s: %s", kid, alg, exc)
    return keys


class KeyStore(ProviderCache):
    """The current key set of one issuer; ``key`` is safe to call from many tasks at once."""

    def __init__(
        self, settings: OidcSettings, fetch: FetchJson, clock: Callable[[], float]
    ) -> None:
        super().__init__(settings, fetch, clock)
        self._keys: dict[KeyId, PyJWK] = {}
        self._loaded_at: float | None = None  # last successful load
        self.generation = 0  # counts the key sets loaded; what was verified before is stale

    async def key(self, kid: str, algorithm: str) -> PyJWK | None:
        """The key a token names, refreshing the set when it is old or lacks ``kid``."""
        await self._refresh_if(self._expired)
        found = self._keys.get((kid, algorithm))
        if found is None:
            await self._refresh_if(self._may_refresh)
            found = self._keys.get((kid, algorithm))
        if found is None and self._loaded_at is None:
            raise AuthenticationFailed(
                "the identity provider's signing keys are unavailable; try again later"
            )
        return found

    def _expired(self) -> bool:
        fresh = self._loaded_at is not None and (
            self._clock() - self._loaded_at < self._settings.jwks_cache_seconds
        )
        return not fresh and self._may_refresh()

    def _may_refresh(self) -> bool:
        return self._tried_at is None or (
            self._clock() - self._tried_at >= self._settings.jwks_refresh_min_seconds
        )

    async def _load(self) -> None:
        try:
            keys = signing_keys(await self._document(), self._settings.algorithms)
        except KeysUnavailable as exc:
            log.warning("identity provider keys not loaded: %s", exc)
            return  # the keys held so far stay in use
        self._keys = keys
        self._loaded_at = self._tried_at
        self.generation += 1

    async def _document(self) -> object:
        settings = self._settings
        try:
            if settings.jwks_file is not None:
                text = await asyncio.to_thread(settings.jwks_file.read_text, encoding="utf-8")
                return json.loads(text)
            return await self._fetch(settings.jwks_url or await self._discovered_jwks_url())
        except (OSError, ValueError, httpx.HTTPError, DiscoveryFailed) as exc:
            raise KeysUnavailable(str(exc)) from exc

    async def _discovered_jwks_url(self) -> str:
        """The ``jwks_uri`` of the issuer's discovery document."""
        settings = self._settings
        assert settings.discovery_url is not None and settings.issuer is not None
        document = await issuer_document(self._fetch, settings.discovery_url, settings.issuer)
        return endpoint(document, "jwks_uri")
