"""Who is calling: the one place a request's credentials become a ``Caller``.

``CallerResolver.caller_of(scope)`` reads the raw request (headers, query string, path and
the client address the server trusts), so the framework's middleware (``ogc.gate.middleware``)
and the raw-ASGI fast layer ask the same question; ``caller_in`` resolves a request once and
keeps the answer — or the refusal — in its ASGI scope, where ``ogc.deps.CallerDep`` finds it.

A request presents at most one credential, looked for in this order:

- ``Authorization: Bearer <token>``: the publisher token (``ONEMAP_PUBLISHER_TOKEN``, a local
  admin credential for scripts) or the metrics token (``ONEMAP_METRICS_TOKEN``, a scraper's
  credential for ``/metrics`` alone), else — with an identity provider configured — an OIDC token
  (``layers.access.oidc``). Without one, an unknown bearer token is no credential (anonymous);
  with one, it is verified and a bad token is a 401, never an anonymous read.
- an API key, as ``tk=<key>`` (Tianditu's parameter) or the ``X-OneMap-Key`` header: checked
  by ``AccessService`` against the service the path belongs to (``ogc.http.paths.service_of``,
  counted against its daily quota), the page's Referer/Origin and the client address.

Every caller is then counted against its rate limit (``layers.access.rates``: keys inside
``AccessService.authenticate``, before their quota, everyone else here) — from memory, so
the fast layer's answers need no database round trip either; health checks are exempt.
Over the limit, the request is refused like a bad credential (429, ``RateLimited``).

The client address is the one the HTTP server trusts: uvicorn replaces it with the
``X-Forwarded-For`` client only when the request comes from a trusted proxy
(``FORWARDED_ALLOW_IPS``; ``ogc.server.serve`` turns proxy headers on).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from layers.access.caller import ANONYMOUS, Caller
from layers.access.oidc import TokenVerifier
from layers.access.rates import RateLimiter
from layers.access.service import AccessService
from layers.errors import CredentialRequired, DatabaseUnavailable, Forbidden, OneMapError
from layers.settings import ServiceSettings
from ogc.http.asgi_types import Scope
from ogc.http.links import key_in_query
from ogc.http.paths import route_path, service_of
from ogc.http.write_guard import holds_bearer_token

CALLER_KEY = "onemap.caller"  # where a request's resolved caller is kept in its ASGI scope
REFUSAL_KEY = "onemap.refusal"  # where a refused credential's error is kept instead
KEY_HEADER = b"x-onemap-key"  # the header of an API key (documented as X-OneMap-Key)
RawHeaders = Iterable[tuple[bytes, bytes]]
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})  # load balancers' probes: never refused
# The holder of the publisher token (jobs it submitted are owned by key "token").
PUBLISHER = Caller(kind="key", subject="token", roles=frozenset({"publisher", "admin"}))
# The command line (seeding, exports): a local admin, as the operator of the machine.
LOCAL_ADMIN = Caller(kind="local", subject="local", roles=frozenset({"admin"}))
# The holder of ONEMAP_METRICS_TOKEN (a Prometheus scraper): no role, so everywhere but
# /metrics it sees what the public sees.
METRICS_SCRAPER = Caller(kind="key", subject="metrics")
UNVERIFIED_USER = Caller(kind="user")  # who presented a token that did not verify
UNKNOWN_KEY = Caller(kind="key")  # who presented a key that is not known


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request's credential was refused: the error to answer, and who tried (the audit's
    actor: the key's caller when the key is known, else the kind of credential)."""

    error: OneMapError
    attempted: Caller


class CallerRefused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.error.message)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request presents, read in one pass over its headers."""

    authorization: bytes | None = None
    key: str | None = None
    referer: str | None = None  # the Referer, else the Origin (what a browser key binds)

    @property
    def none(self) -> bool:
        """Nothing presented: the caller is anonymous, known without any I/O."""
        return self.authorization is None and self.key is None


def credentials_of(headers: RawHeaders, query: bytes) -> Credentials:
    authorization = key = referer = origin = None
    for name, value in headers:
        if name == b"authorization":
            authorization = authorization or bytes(value)
        elif name == KEY_HEADER:
            key = key or bytes(value).decode("latin-1").strip()
        elif name == b"referer":
            referer = referer or bytes(value).decode("latin-1")
        elif name == b"origin":
            origin = origin or bytes(value).decode("latin-1")
    if b"tk=" in query:  # a plain search first: most requests carry no key
        key = key_in_query(query) or key
    return Credentials(authorization, key or None, referer or origin)


class CallerResolver:
    """Turns a request's credentials into its caller; one per app (``AppState.callers``).

    The lifespan hands it the token verifier (when an issuer is configured) and the key
    service once they run (``ogc.services``)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._publisher_token = settings.publisher_token
        self._metrics_token = settings.metrics_token
        self.verifier: TokenVerifier | None = None
        self.keys: AccessService | None = None
        self.rates = RateLimiter(settings)  # its counts are flushed by ``keys`` (the lifespan)

    async def caller_of(self, scope: Scope) -> Caller:
        """The caller of the request ``scope`` describes, or ``CallerRefused``."""
        found = credentials_of(scope["headers"], scope.get("query_string", b""))
        if found.none:
            return self.admitted(scope, ANONYMOUS)
        if found.authorization is not None:
            authorization = found.authorization.decode("latin-1")
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                if holds_bearer_token(authorization, self._publisher_token):
                    return self.admitted(scope, PUBLISHER)
                if holds_bearer_token(authorization, self._metrics_token):
                    return self.admitted(scope, METRICS_SCRAPER)
                if self.verifier is not None:
                    return self.admitted(scope, await self._user(token.strip()))
        if found.key is not None:
            return await self._key_caller(found.key, found.referer, scope)
        return self.admitted(scope, ANONYMOUS)

    def admitted(self, scope: Scope, caller: Caller) -> Caller:
        """``caller``, counted against its rate limit, or ``CallerRefused`` over it."""
        if scope["path"] in UNLIMITED_PATHS:
            return caller
        client = scope.get("client")
        identity = self.rates.identity_of(caller, client[0] if client else None)
        try:
            self.rates.admit(identity, self.rates.limit_of(caller))
        except OneMapError as exc:
            raise CallerRefused(Refusal(exc, caller)) from exc
        return caller

    async def _user(self, token: str) -> Caller:
        assert self.verifier is not None
        try:
            return await self.verifier.verify(token)
        except OneMapError as exc:
            raise CallerRefused(Refusal(exc, UNVERIFIED_USER)) from exc

    async def _key_caller(self, secret: str, referer: str | None, scope: Scope) -> Caller:
        keys = self.keys
        if keys is None:
            error = DatabaseUnavailable("API keys cannot be checked yet; retry shortly")
            raise CallerRefused(Refusal(error, UNKNOWN_KEY))
        client = scope.get("client")
        service = service_of(route_path(scope))
        host = client[0] if client else None
        rated = scope["path"] not in UNLIMITED_PATHS
        try:
            return await keys.authenticate(secret, service, referer, host, rated=rated)
        except OneMapError as exc:
            raise CallerRefused(Refusal(exc, keys.known_caller(secret) or UNKNOWN_KEY)) from exc


def first_header(headers: RawHeaders, name: bytes) -> bytes | None:
    """One header's value; a plain scan, as cheap as it gets for the few headers a request has."""
    for key, value in headers:
        if key == name:
            return bytes(value)
    return None


async def caller_in(scope: Scope, resolver: CallerResolver) -> Caller:
    """The caller of the request ``scope`` describes, resolved once and kept in the scope;
    a refused credential raises ``CallerRefused`` (every time it is asked, resolved once)."""
    caller: Caller | None = scope.get(CALLER_KEY)
    if caller is not None:
        return caller
    refusal: Refusal | None = scope.get(REFUSAL_KEY)
    if refusal is not None:
        raise CallerRefused(refusal)
    try:
        caller = await resolver.caller_of(scope)
    except CallerRefused as exc:
        scope[REFUSAL_KEY] = exc.refusal
        raise
    scope[CALLER_KEY] = caller
    return caller


def caller_at_once(scope: Scope, resolver: CallerResolver) -> Caller | None:
    """``caller_in`` without waiting: the caller when nothing needs checking (a request that
    presents no credential is anonymous; its rate limit is counted in memory), kept in the
    scope as ``caller_in`` keeps it; None when a credential must be checked (tokens, keys:
    ``caller_in``'s work) or the caller is refused (its refusal kept for the gate)."""
    caller: Caller | None = scope.get(CALLER_KEY)
    if caller is not None or REFUSAL_KEY in scope:
        return caller
    if not credentials_of(scope["headers"], scope.get("query_string", b"")).none:
        return None
    try:
        scope[CALLER_KEY] = resolver.admitted(scope, ANONYMOUS)
    except CallerRefused as exc:
        scope[REFUSAL_KEY] = exc.refusal
        return None
    return ANONYMOUS


async def caller_or_none(scope: Scope, resolver: CallerResolver) -> Caller | None:
    """``caller_in`` for the fast layer: None when the credential is refused (the framework's
    gate middleware then answers the refusal kept in the scope)."""
    try:
        return await caller_in(scope, resolver)
    except CallerRefused:
        return None


def may_read_metrics(caller: Caller) -> None:
    """/metrics is for admins and the metrics token's holder: the public must present a
    credential (401), anyone else is refused (403)."""
    if caller.is_admin or caller == METRICS_SCRAPER:
        return
    if caller.is_anonymous:
        raise CredentialRequired(
            "/metrics needs 'Authorization: Bearer <ONEMAP_METRICS_TOKEN>' or an admin's credential"
        )
    raise Forbidden("/metrics is for admins and the holder of ONEMAP_METRICS_TOKEN")
