"""The gate's place in the framework stack: every routed request's caller, resolved once.

The middleware resolves the caller (``ogc.gate.caller.caller_in``: kept in the request's
ASGI scope, where ``ogc.deps.CallerDep`` reads it, and where the fast layer may have put
it already) and makes every response for a caller who sees more than the public private
(``ogc.http.policy.make_private``: the rule the fast layer follows for its tiles). A refused
credential — a bad bearer token or key (401), a key used from the wrong page or address
(403), over its quota (429) — is answered here with the problem document of the one error
table (``ogc.errors.problem_of``, ``headers_of``: ``WWW-Authenticate``, ``Retry-After``)
and the policy's CORS headers (so a web page can read why), and counted for the audit. The
fast layer hands such requests over, so this is the one place they are answered. It sits
outside the CORS middleware, so its headers come after CORS's, as on the fast layer.
"""

from __future__ import annotations

import json

from starlette.datastructures import MutableHeaders
from starlette.requests import Request

from layers.access.caller import PUBLIC_SCOPE
from ogc.errors import headers_of, problem_of
from ogc.gate.caller import CallerRefused, CallerResolver, Refusal, caller_in
from ogc.gate.denials import DENIED_STATUSES, count_denial
from ogc.http.asgi_types import ASGIApp, Headers, Message, Receive, Scope, Send
from ogc.http.policy import ResponsePolicy, make_private


class CallerMiddleware:
    def __init__(self, app: ASGIApp, resolver: CallerResolver, policy: ResponsePolicy) -> None:
        self.app, self.resolver, self.policy = app, resolver, policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            caller = await caller_in(scope, self.resolver)
        except CallerRefused as exc:
            await self._refuse(scope, send, exc.refusal)
            return
        if caller.scope == PUBLIC_SCOPE:
            await self.app(scope, receive, send)
            return

        async def private(message: Message) -> None:
            if message["type"] == "http.response.start":
                make_private(MutableHeaders(scope=message).raw)
            await send(message)

        await self.app(scope, receive, private)

    async def _refuse(self, scope: Scope, send: Send, refusal: Refusal) -> None:
        error = refusal.error
        status, document = problem_of(error, Request(scope))
        if status in DENIED_STATUSES:
            count_denial(self.resolver.keys, scope, refusal.attempted, status, error.message)
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        headers: Headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers_of(error).items()
        ]
        headers += [
            (b"cache-control", b"no-store"),
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/problem+json"),
        ]
        origin = next((bytes(v) for k, v in scope["headers"] if k == b"origin"), None)
        self.policy.cors(origin, headers)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else body
        await send({"type": "http.response.body", "body": body})
