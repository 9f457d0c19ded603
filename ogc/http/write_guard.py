"""Writes only from the server's own origin, and uploads checked before their body is read.

A browser attaches ``Origin`` (and ``Sec-Fetch-Site``) to every POST/PUT/PATCH/DELETE;
a request a page of another site makes — a form posted at ``/ingest``, a ``fetch`` to
``DELETE /jobs/…`` — is refused with a 403 here, whatever CORS allows for reads, and so is
its CORS preflight. Running an analysis (``POST /processes/{id}/execution``) computes and
changes nothing published, so web apps of other origins may call it; publishing its result
still needs the publisher token, which a foreign page cannot borrow from the browser.
Clients that are not browsers (the CLI, curl, GDAL, notebooks) send neither header and
pass. ``POST /ingest`` is also refused before its body is spooled when its caller may
publish nothing (the gate answers: ``ogc.gate.ownership.may_publish_in``, given to the
guard by the app), or when ``Content-Length`` already exceeds ``ONEMAP_MAX_UPLOAD_MB``.
Every refusal is handed to ``on_refusal`` (the app counts it as a denied request).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request

from layers.errors import Forbidden, OneMapError, PayloadTooLarge
from layers.settings import ServiceSettings
from ogc.errors import exception_body, status_of
from ogc.http.asgi_types import ASGIApp, Receive, Scope, Send

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UPLOAD_PATH = "/ingest"
CROSS_ORIGIN_ALLOWED = re.compile(r"/processes/[^/]+/execution")  # computes, publishes nothing
SAME_SITE_VALUES = (b"same-origin", b"none")  # "none": the user's own navigation
NO_TOKEN = (
    "uploads are switched off: no publisher token is configured. Set ONEMAP_PUBLISHER_TOKEN "
    "on the server and send 'Authorization: Bearer <token>', or publish on the server's "
    "machine with the command line (onemap ingest FILE)"
)
NOT_A_PUBLISHER = (
    "publishing needs a publisher of a department or an admin ('Authorization: Bearer <token>')"
)
MayUpload = Callable[[Scope], bool]  # whether the request's caller may publish at all
# Told of each refusal (the app counts it as a denied request for the audit log).
OnRefusal = Callable[[Scope, OneMapError, int], None]


def holds_bearer_token(authorization: str, token: str | None) -> bool:
    """Whether an ``Authorization`` header carries ``token`` (the publisher's, the metrics
    scraper's; none configured: no), compared in constant time."""
    given = authorization.removeprefix("Bearer ").strip()
    return bool(token and given) and secrets.compare_digest(given.encode(), str(token).encode())


class WriteGuard:
    def __init__(
        self,
        app: ASGIApp,
        settings: ServiceSettings,
        may_upload: MayUpload,
        on_refusal: OnRefusal | None = None,
    ) -> None:
        self.app, self.settings, self.may_upload = app, settings, may_upload
        self.on_refusal = on_refusal
        public = urlsplit(settings.public_url) if settings.public_url else None
        self.public_origin = f"{public.scheme}://{public.netloc}" if public else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_guarded_write(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        try:
            if scope["method"] == "OPTIONS":
                raise Forbidden("cross-origin writes are not allowed: preflight refused")
            self._check_origin(scope, headers)
            if scope["path"] == UPLOAD_PATH:
                self._check_upload(scope, headers)
        except OneMapError as exc:
            if self.on_refusal is not None:
                self.on_refusal(scope, exc, status_of(exc))
            await refuse(scope, send, exc)
            return
        await self.app(scope, receive, send)

    def _check_origin(self, scope: Scope, headers: dict[bytes, bytes]) -> None:
        site = headers.get(b"sec-fetch-site")
        origin = headers.get(b"origin")
        foreign_site = site is not None and site not in SAME_SITE_VALUES
        if foreign_site or (origin is not None and origin.decode("latin-1") != self._own(scope)):
            shown = origin.decode("latin-1")[:100] if origin is not None else "another site"
            raise Forbidden(
                f"{scope['method']} from {shown} refused: writes are accepted only from this "
                "server's own pages or from clients that are not browsers"
            )

    def _own(self, scope: Scope) -> str:
        if self.public_origin:
            return self.public_origin
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        return f"{scope.get('scheme', 'http')}://{host}"

    def _check_upload(self, scope: Scope, headers: dict[bytes, bytes]) -> None:
        if not self.may_upload(scope):
            raise Forbidden(NO_TOKEN if not self.settings.publisher_token else NOT_A_PUBLISHER)
        declared = headers.get(b"content-length", b"")
        limit = self.settings.max_upload_mb * 1024 * 1024
        if declared.isdigit() and int(declared) > limit + 1024 * 1024:  # + the form's own parts
            raise PayloadTooLarge(
                f"the upload is larger than {self.settings.max_upload_mb} MB (ONEMAP_MAX_UPLOAD_MB)"
            )


def _is_guarded_write(scope: Scope) -> bool:
    """A write (or the CORS preflight of one) that must come from this server's own pages."""
    method = scope["method"]
    if method == "OPTIONS":
        requested = dict(scope["headers"]).get(b"access-control-request-method", b"")
        method = requested.decode("latin-1").upper()
    if method not in WRITE_METHODS:
        return False
    return not (method == "POST" and CROSS_ORIGIN_ALLOWED.fullmatch(scope["path"]))


async def refuse(scope: Scope, send: Send, exc: OneMapError) -> None:
    """Answer a request refused before the app read it: its problem document, and the
    connection closed (the unread body is not drained)."""
    status = status_of(exc)
    body = orjson.dumps(exception_body(status, exc.message, Request(scope)))
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the unread body is not drained
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
