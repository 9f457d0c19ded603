"""A test caller chosen by a request header: the one stand-in for ``CallerResolver.caller_of``.

Tests that need many kinds of caller (departments, roles, areas) without minting a token for
each replace the resolver's ``caller_of`` on their test app's instance only: a request whose
``header`` is ``prefix`` + a name in ``people`` is that caller; every other request is
resolved as the app resolves it (its real credentials, or anonymous). Production resolves
callers from credentials alone.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from layers.access.caller import Caller
from ogc.gate.caller import CallerResolver, first_header
from ogc.http.asgi_types import Scope

CallerOf = Callable[[Scope], Coroutine[Any, Any, Caller]]  # ``CallerResolver.caller_of``


def stand_in_caller_of(
    resolver: CallerResolver,
    people: Mapping[str, Caller],
    header: bytes = b"authorization",
    prefix: str = "Bearer test-",
) -> CallerOf:
    """A ``caller_of`` for ``resolver``: ``people[name]`` for ``header: <prefix><name>``, else
    the resolver's own answer. Install it with ``monkeypatch.setattr(resolver, "caller_of",
    …)`` (undone after the test) or by assignment on an app of the test's own."""
    resolve = resolver.caller_of

    async def caller_of(scope: Scope) -> Caller:
        given = (first_header(scope["headers"], header) or b"").decode("latin-1")
        name = given[len(prefix) :]
        if given.startswith(prefix) and name in people:
            return people[name]
        return await resolve(scope)

    return caller_of
