"""Bearer tokens (OIDC / JWT) → a ``Caller``, verified against the configured issuer.

``TokenVerifier.verify`` checks the signature against the issuer's published keys (public-key
algorithms only, the one the key is bound to), ``iss``, ``aud``, ``exp`` (required) and
``nbf``/``iat`` with the configured clock skew, then maps the claims. Every failure is one
``AuthenticationFailed`` whose reason never quotes the token; the web layer answers 401.
The key fetch is async; a verification is under a millisecond of CPU, and a token verified
once is remembered (``verified_tokens.py``) for the requests that follow it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from jwt import PyJWK
from jwt import exceptions as jwt_errors

from layers.access.caller import Caller
from layers.access.discovery import FetchJson, http_fetcher
from layers.access.jwks import KeyStore
from layers.access.oidc_claims import caller_from_claims
from layers.access.oidc_settings import OidcSettings
from layers.access.verified_tokens import VerifiedTokens
from layers.errors import AuthenticationFailed

MAX_TOKEN_CHARS = 16_384  # far above real ID/access tokens; bounds the work a request can ask

REASONS: Mapping[type[jwt_errors.PyJWTError], str] = {  # most specific first by MRO lookup
    jwt_errors.ExpiredSignatureError: "the token has expired",
    jwt_errors.ImmatureSignatureError: "the token is not valid yet",
    jwt_errors.InvalidIssuedAtError: "the token's issue time (iat) is invalid",
    jwt_errors.InvalidIssuerError: "the token was issued by another issuer",
    jwt_errors.InvalidAudienceError: "the token is meant for another audience",
    jwt_errors.InvalidSubjectError: "the token's subject (sub) is not a string",
    jwt_errors.InvalidJTIError: "the token's id (jti) is not a string",
    jwt_errors.InvalidSignatureError: "the token's signature does not verify",
    jwt_errors.InvalidAlgorithmError: "the token's signature algorithm is not accepted",
    jwt_errors.DecodeError: "the token is not a well-formed JWT",
    jwt_errors.PyJWTError: "the token is not valid",
}


def _reason(exc: jwt_errors.PyJWTError) -> str:
    if isinstance(exc, jwt_errors.MissingRequiredClaimError):
        return f"the token has no '{exc.claim}' claim"  # one of our required claim names
    for cls in type(exc).__mro__:
        if cls in REASONS:
            return REASONS[cls]
    return REASONS[jwt_errors.PyJWTError]


class TokenVerifier:
    """Verifies the bearer tokens of one issuer; one instance per app (it caches the keys)."""

    def __init__(
        self,
        settings: OidcSettings,
        fetch: FetchJson | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not settings.enabled:
            raise ValueError("OIDC is not configured: set ONEMAP_OIDC_ISSUER")
        self._settings = settings
        fetch = fetch or http_fetcher(settings.http_timeout_seconds)
        self._keys = KeyStore(settings, fetch, clock)
        self._verified = VerifiedTokens()

    async def verify(self, token: str) -> Caller:
        """The caller a bearer token names, or ``AuthenticationFailed``."""
        remembered = self._verified.get(token, self._keys.generation)
        if remembered is not None:
            return remembered
        kid, algorithm = self._signing_key_id(token)
        key = await self._keys.key(kid, algorithm)
        if key is None:
            raise AuthenticationFailed(
                "the token is signed with a key the identity provider does not publish"
            )
        claims = self._verified_claims(token, key)
        caller = caller_from_claims(claims, self._settings)
        self._remember(token, caller, claims)
        return caller

    def _remember(self, token: str, caller: Caller, claims: Mapping[str, Any]) -> None:
        """Keep the caller while the token is valid (PyJWT's rule: ``now < exp + skew``) and
        no longer than the key set's lifetime."""
        settings = self._settings
        valid_until = min(
            float(claims["exp"]) + settings.clock_skew_seconds,
            time.time() + settings.jwks_cache_seconds,
        )
        self._verified.put(token, caller, valid_until, self._keys.generation)

    def _signing_key_id(self, token: str) -> tuple[str, str]:
        """The (kid, alg) of the token's header, before any key is looked up."""
        if len(token) > MAX_TOKEN_CHARS:
            raise AuthenticationFailed("the token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt_errors.PyJWTError as exc:
            raise AuthenticationFailed(_reason(exc)) from exc
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self._settings.algorithms:
            accepted = ", ".join(self._settings.algorithms)
            raise AuthenticationFailed(f"the token's signature algorithm is not one of {accepted}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationFailed("the token names no signing key (kid)")
        return kid, algorithm

    def _verified_claims(self, token: str, key: PyJWK) -> dict[str, Any]:
        settings = self._settings
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                audience=settings.audience,
                issuer=settings.issuer,
                leeway=settings.clock_skew_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt_errors.PyJWTError as exc:
            raise AuthenticationFailed(_reason(exc)) from exc
