"""HEAD answered wherever GET is (RFC 9110 §9.3.2): same status and headers, no body.

FastAPI routes declared with ``@router.get`` answer HEAD with 405; link checkers, caches
revalidating, ``curl -I`` and GDAL's /vsicurl probes use HEAD. The request runs as a GET
so every header (ETag, Content-Length, Content-Type, CORS) is the GET's own; the body is
dropped on the way out. Cached tiles answer HEAD in their fast path without this.
"""

from __future__ import annotations

from ogc.http.asgi_types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the rest of a streamed body: nothing to send
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
