"""The gate's place in the framework stack: every routed request's caller, resolved once.

The middleware resolves the caller (``ogc.gate.caller.caller_in``: kept in the request's
ASGI scope, where ``ogc.deps.CallerDep`` reads it, and where the fast layer may have put
it already) and makes every response for a caller who sees more than the public private
(``ogc.http.policy.make_private``: the rule the fast layer follows for its tiles). It sits
outside the CORS middleware, so its headers come after CORS's, as on the fast layer.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders

from layers.access.caller import PUBLIC_SCOPE
from ogc.gate.caller import CallerResolver, caller_in
from ogc.http.asgi_types import ASGIApp, Message, Receive, Scope, Send
from ogc.http.policy import make_private


class CallerMiddleware:
    def __init__(self, app: ASGIApp, resolver: CallerResolver) -> None:
        self.app, self.resolver = app, resolver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        caller = await caller_in(scope, self.resolver)
        if caller.scope == PUBLIC_SCOPE:
            await self.app(scope, receive, send)
            return

        async def private(message: Message) -> None:
            if message["type"] == "http.response.start":
                make_private(MutableHeaders(scope=message).raw)
            await send(message)

        await self.app(scope, receive, private)
