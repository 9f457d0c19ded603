"""Caps on what one request may send: its URL (414), header fields (431) and body (413);
and no NUL byte in its query (400: PostgreSQL text cannot hold one, so a NUL bound to any
statement failed it — one rule here instead of one per route). A path segment with a NUL
names nothing: each route answers it in its own protocol (a 404 naming the tile matrix set,
a WMTS exception report), and a value PostgreSQL cannot hold is a 400 wherever it is bound
(``ogc.errors``' DataError rule).

uvicorn's httptools protocol reads a request head of any size; routes then parse every
value. The head's caps refuse a hostile head before any route runs
(``ONEMAP_MAX_URL_BYTES``, ``ONEMAP_MAX_HEADER_BYTES``, and a ``Content-Length`` above
the body cap). A body without a length is counted as it arrives by FastAPI's own limiter
(``max_body_size``, set from the same ``body_caps``): ``ONEMAP_MAX_BODY_MB``, and for
uploads ``ONEMAP_MAX_UPLOAD_MB`` (whose declared length the write guard checks). A
reverse proxy should cap earlier still.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from layers.errors import (
    HeadersTooLarge,
    InvalidParameter,
    OneMapError,
    PayloadTooLarge,
    UriTooLong,
)
from layers.features.params import reject_nul
from layers.settings import ServiceSettings
from ogc.http.asgi_types import ASGIApp, Receive, Scope, Send
from ogc.http.write_guard import UPLOAD_PATH, refuse

MIB = 1024 * 1024
FORM_ROOM = 2 * MIB  # a multipart upload's own parts, beyond the file's bytes


def body_caps(settings: ServiceSettings) -> tuple[int, int]:
    """The largest body of any request, and of an upload (``POST /ingest``: its file is
    checked at ``ONEMAP_MAX_UPLOAD_MB`` as it is saved, so this only stops a runaway)."""
    return settings.max_body_mb * MIB, settings.max_upload_mb * MIB + FORM_ROOM


@dataclass(frozen=True)
class HeadCaps:
    url_bytes: int
    header_bytes: int
    body_bytes: int

    @classmethod
    def of(cls, settings: ServiceSettings) -> HeadCaps:
        return cls(settings.max_url_bytes, settings.max_header_bytes, body_caps(settings)[0])

    def refusal(self, scope: Scope) -> OneMapError | None:
        """Why the request's head is refused, or None."""
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
        return _nul_refusal(scope) or self._body_refusal(scope)

    def _body_refusal(self, scope: Scope) -> OneMapError | None:
        """A declared length over the cap (an upload's is the write guard's to judge: it
        refuses a caller who may not publish first, and audits the refusal)."""
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if scope["path"] == UPLOAD_PATH or not declared.isdigit():
            return None
        if int(declared) <= self.body_bytes:
            return None
        return PayloadTooLarge(
            f"the request body is {int(declared)} bytes; this server reads at most "
            f"{self.body_bytes // MIB} MB (ONEMAP_MAX_BODY_MB); uploads go to POST /ingest"
        )


def _nul_refusal(scope: Scope) -> OneMapError | None:
    query = scope["query_string"]
    if b"%00" not in query:  # the only way a NUL travels in a query
        return None
    if scope["path"].startswith("/wmts"):
        return None  # WMTS checks its KVP values and answers OWS exception reports
    try:
        reject_nul(dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)))
    except InvalidParameter as exc:
        return exc
    return None


class HeadLimits:
    def __init__(self, app: ASGIApp, caps: HeadCaps) -> None:
        self.app, self.caps = app, caps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self.caps.refusal(scope) if scope["type"] == "http" else None
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await refuse(scope, send, refusal)
