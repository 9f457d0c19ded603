"""The security headers (``ogc.http.policy.secure``) on every response the framework sends.

It wraps the whole framework stack, outside Starlette's own error middleware, so a 500, a
gate or write-guard refusal and a request cap's refusal carry them too; the fast paths add
them to the answers they make themselves.
"""

from __future__ import annotations

from ogc.http.asgi_types import ASGIApp, Message, Receive, Scope, Send
from ogc.http.policy import secure


class SecureHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                secure(headers)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, secured)
