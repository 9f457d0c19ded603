"""Who is calling: the one place a request's credentials become a ``Caller``.

``CallerResolver.caller_of(headers, query)`` reads the raw request headers and query string,
so the framework's middleware (``ogc.gate.middleware``) and the raw-ASGI fast layer ask the
same question; ``caller_in`` resolves a request once and keeps the answer in its ASGI scope,
where ``ogc.deps.CallerDep`` finds it. Today the only credential is the publisher token
(``ONEMAP_PUBLISHER_TOKEN``); bearer tokens and ``tk=`` keys join here.
"""

from __future__ import annotations

from collections.abc import Iterable

from layers.access.caller import ANONYMOUS, Caller
from layers.settings import ServiceSettings
from ogc.http.asgi_types import Scope
from ogc.http.write_guard import holds_publisher_token

CALLER_KEY = "onemap.caller"  # where a request's resolved caller is kept in its ASGI scope
RawHeaders = Iterable[tuple[bytes, bytes]]
# The holder of the publisher token (jobs it submitted are owned by key "token").
PUBLISHER = Caller(kind="key", subject="token", roles=frozenset({"publisher", "admin"}))
# The command line (seeding, exports): a local admin, as the operator of the machine.
LOCAL_ADMIN = Caller(kind="local", subject="local", roles=frozenset({"admin"}))


class CallerResolver:
    """Turns a request's credentials into its caller; one per app (``AppState.callers``)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._publisher_token = settings.publisher_token

    async def caller_of(self, headers: RawHeaders, query: bytes) -> Caller:
        """The caller of a request with these raw headers (lower-case names, as ASGI gives
        them; the first of a repeated name counts) and query string.

        Credentials that are not recognised make an anonymous caller for now."""
        authorization = first_header(headers, b"authorization")
        if authorization and holds_publisher_token(
            authorization.decode("latin-1"), self._publisher_token
        ):
            return PUBLISHER
        return ANONYMOUS


def first_header(headers: RawHeaders, name: bytes) -> bytes | None:
    """One header's value; a plain scan, as cheap as it gets for the few headers a request
    has (the fast layer asks on every cached tile)."""
    for key, value in headers:
        if key == name:
            return bytes(value)
    return None


async def caller_in(scope: Scope, resolver: CallerResolver) -> Caller:
    """The caller of the request ``scope`` describes, resolved once and kept in the scope."""
    caller: Caller | None = scope.get(CALLER_KEY)
    if caller is None:
        caller = await resolver.caller_of(scope["headers"], scope.get("query_string", b""))
        scope[CALLER_KEY] = caller
    return caller
