"""The Starlette adapter of ``ResponsePolicy.cors`` (the app's CORS middleware)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware

from ogc.http.asgi_types import Message, Send
from ogc.http.policy import CORS_EXPOSED, CORS_METHODS, ResponsePolicy


class CorsMiddleware(CORSMiddleware):
    """Starlette's CORS middleware (its preflight answers) whose simple responses get
    ``ResponsePolicy.cors``: the one rule the fast layer follows too."""

    def __init__(self, app: Any, policy: ResponsePolicy) -> None:
        super().__init__(
            app,
            allow_origins=policy.origins,
            allow_methods=CORS_METHODS,
            allow_headers=["*"],
            expose_headers=CORS_EXPOSED,
        )
        self.policy = policy

    async def send(self, message: Message, send: Send, request_headers: Any) -> None:
        if message["type"] == "http.response.start":
            origin = request_headers.get("origin")
            raw = MutableHeaders(scope=message).raw  # the message's own list
            self.policy.cors(None if origin is None else origin.encode("latin-1"), raw)
        await send(message)
