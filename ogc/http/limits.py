"""Caps on what one request may send: its URL (414), its header fields (431), its body (413).

uvicorn's httptools protocol reads a request head of any size and hands a body of any
length to the app, and routes read bodies whole (``request.body()``) before they look at
them. These caps stop a hostile request before any route runs: the URL and headers from
the scope, a body by its ``Content-Length`` at once, and a body without one (chunked) as it
arrives — a route reading past the cap gets a 413 (``BodyTooLarge``). Uploads (``POST
/ingest``) have their own, larger cap, ``ONEMAP_MAX_UPLOAD_MB``, checked by the write guard
and while the file is spooled. The limits are settings (``ONEMAP_MAX_URL_BYTES``,
``ONEMAP_MAX_HEADER_BYTES``, ``ONEMAP_MAX_BODY_MB``); a reverse proxy should cap earlier.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException

from layers.errors import HeadersTooLarge, OneMapError, PayloadTooLarge, UriTooLong
from layers.settings import HttpSettings
from ogc.http.asgi_types import ASGIApp, Message, Receive, Scope, Send
from ogc.http.write_guard import UPLOAD_PATH, refuse


class BodyTooLarge(HTTPException):
    """A body that outgrew the cap while a route read it. An ``HTTPException``, not a domain
    error: FastAPI re-raises those from its own body parsing (others become a 400)."""

    def __init__(self, limit_mb: int) -> None:
        super().__init__(413, _body_message(limit_mb))


@dataclass(frozen=True)
class Caps:
    url_bytes: int
    header_bytes: int
    body_bytes: int

    @classmethod
    def of(cls, settings: HttpSettings) -> Caps:
        body = settings.max_body_mb * 1024 * 1024
        return cls(settings.max_url_bytes, settings.max_header_bytes, body)

    def refusal(self, scope: Scope) -> OneMapError | None:
        """Why the request's head alone is refused, or None."""
        target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope["query_string"])
        if target > self.url_bytes:
            return UriTooLong(
                f"the request's path and query are {target} bytes; this server reads at most "
                f"{self.url_bytes} (ONEMAP_MAX_URL_BYTES): send fewer or shorter parameters"
            )
        header_bytes = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
        if header_bytes > self.header_bytes:
            return HeadersTooLarge(
                f"the request's header fields are {header_bytes} bytes; this server reads at "
                f"most {self.header_bytes} (ONEMAP_MAX_HEADER_BYTES)"
            )
        declared = _content_length(scope)
        if declared is not None and declared > self.body_bytes and scope["path"] != UPLOAD_PATH:
            return PayloadTooLarge(_body_message(self.body_bytes // 2**20))
        return None


class RequestLimits:
    def __init__(self, app: ASGIApp, caps: Caps) -> None:
        self.app, self.caps = app, caps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.caps.refusal(scope)
        if refusal is not None:
            await refuse(scope, send, refusal)
            return
        if scope["path"] == UPLOAD_PATH or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        await self.app(scope, _counted(receive, self.caps.body_bytes), send)


def _counted(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises ``BodyTooLarge`` once the body's bytes pass ``limit``."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit // 2**20)
        return message

    return counted


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _body_message(limit_mb: int) -> str:
    return (
        f"the request body is larger than {limit_mb} MB, the most this server reads "
        "(ONEMAP_MAX_BODY_MB); uploads go to POST /ingest"
    )
