"""The one table from domain errors to HTTP, with OGC API exception bodies."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from psycopg import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from layers.db import unavailable
from layers.edit.errors import (
    FeatureGone,
    NotEditable,
    PreconditionFailed,
    PreconditionRequired,
    UnsupportedBody,
)
from layers.errors import (
    AuthenticationFailed,
    Conflict,
    CredentialRequired,
    EmbeddedClusterError,
    Forbidden,
    HeadersTooLarge,
    IngestError,
    InvalidParameter,
    NotFound,
    OneMapError,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    Unavailable,
    UriTooLong,
)

log = logging.getLogger("onemap.http")
MAX_DETAIL = 1000  # characters of a problem's detail; longer ones are cut

STATUS_OF: dict[type[OneMapError], int] = {
    InvalidParameter: 400,
    AuthenticationFailed: 401,
    CredentialRequired: 401,
    Forbidden: 403,
    NotFound: 404,
    NotEditable: 405,
    Conflict: 409,
    FeatureGone: 410,
    PreconditionFailed: 412,
    PayloadTooLarge: 413,
    UriTooLong: 414,
    UnsupportedBody: 415,
    IngestError: 422,
    PreconditionRequired: 428,
    QuotaExceeded: 429,
    HeadersTooLarge: 431,
    Unavailable: 503,  # the database down or restarting, a statement timeout, overload
    EmbeddedClusterError: 503,
}

HEADERS_OF: dict[type[OneMapError], Callable[[Any], dict[str, str]]] = {
    AuthenticationFailed: lambda exc: {"WWW-Authenticate": challenge_of(exc)},
    RateLimited: lambda exc: {
        "Retry-After": str(exc.retry_after_s),
        "RateLimit-Limit": str(exc.limit),
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(exc.retry_after_s),
        "RateLimit-Policy": f"{exc.limit};w={exc.window_s}",
    },
    CredentialRequired: lambda exc: {"WWW-Authenticate": 'Bearer realm="onemap"'},
    QuotaExceeded: lambda exc: {"Retry-After": str(exc.retry_after_s)},
    Unavailable: lambda exc: {"Retry-After": str(exc.retry_after_s)},
    PreconditionFailed: lambda exc: {  # none for a feature that does not exist (yet)
        k: v for k, v in (("ETag", exc.etag), ("Last-Modified", exc.last_modified)) if v
    },
    NotEditable: lambda exc: {"Allow": "GET, HEAD, OPTIONS"},
    FeatureGone: lambda exc: {"Link": exc.links},
}


TITLES = {  # the statuses our errors map to, fixed across Python versions
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def title_of(status: int) -> str:
    """The problem's title: ours above, else the standard reason phrase (405, 406, ...)."""
    if status in TITLES:
        return TITLES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# OneMap's own scheme for keys (no registered one exists): it names the parameter to send.
KEY_CHALLENGE = 'ApiKey realm="onemap", param="tk"'


def challenge_of(exc: AuthenticationFailed) -> str:
    """The ``WWW-Authenticate`` value of a refused credential, in the scheme it came in."""
    return bearer_challenge(exc.reason) if exc.credential == "bearer" else KEY_CHALLENGE


def bearer_challenge(reason: str) -> str:
    """The ``WWW-Authenticate`` value of a rejected bearer token (RFC 6750 §3); the
    description keeps only the characters a quoted error_description may hold."""
    description = "".join(c for c in reason if " " <= c <= "~" and c not in '"\\')
    return f'Bearer realm="onemap", error="invalid_token", error_description="{description}"'


def status_of(exc: OneMapError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500


def headers_of(exc: OneMapError) -> dict[str, str]:
    """The headers an error's status needs (``WWW-Authenticate`` on 401, ``Retry-After`` on
    429), from the same class hierarchy as ``status_of``."""
    for cls in type(exc).__mro__:
        if cls in HEADERS_OF:
            return HEADERS_OF[cls](exc)
    return {}


def exception_body(
    status: int, detail: str, request: Request, exception_type: str | None = None
) -> dict[str, object]:
    """OGC API / RFC 7807 problem details (``code`` + ``description`` as OGC API expects).

    ``exception_type``: the URI a standard defines for this error (e.g. OGC API – Processes'
    ``.../no-such-job``); otherwise the status's generic one.
    """
    title = title_of(status)
    if len(detail) > MAX_DETAIL:  # a huge parameter value quoted back
        detail = detail[:MAX_DETAIL] + "…"
    return {
        "type": exception_type or f"https://httpstatuses.io/{status}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": title.replace(" ", ""),
        "description": detail,
        "instance": str(request.url.path)[:MAX_DETAIL],  # a huge path is not quoted whole
    }


def problem(
    status: int,
    detail: str,
    request: Request,
    exception_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        exception_body(status, detail, request, exception_type),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def problem_of(exc: OneMapError, request: Request) -> tuple[int, dict[str, object]]:
    """A domain error's status and problem document (the route's and the fast path's)."""
    status = getattr(exc, "http_status", None)  # an error carrying its own (a failed job)
    status = status if isinstance(status, int) else status_of(exc)
    detail = without_server_paths(exc.message, server_roots(request))
    return status, exception_body(status, detail, request, getattr(exc, "exception_type", None))


ErrorObserver = Callable[[Request, OneMapError, int], None]


def _onemap_error(observe: ErrorObserver | None) -> Callable[[Request, Exception], Any]:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OneMapError)
        status, document = problem_of(exc, request)
        if observe is not None:
            observe(request, exc, status)
        headers = headers_of(exc)
        if "handling=strict" in request.headers.get("prefer", "").replace(" ", ""):
            headers["Preference-Applied"] = "handling=strict"  # bodies are always checked
        return JSONResponse(
            document, status_code=status, media_type="application/problem+json", headers=headers
        )

    return handle


def without_server_paths(text: str, roots: list[str]) -> str:
    """Drop the folders of server paths (temp and upload folders, the data directory) from
    a message, keeping the file names a person recognises: GDAL and the ingest quote paths.
    """
    for root in sorted(roots, key=len, reverse=True):
        pattern = re.escape(root.rstrip("/")) + r"/(?:[^/\s'\"()]+/)*"
        text = re.sub(pattern, "", text)
    return text


def server_roots(request: Request) -> list[str]:
    state = getattr(request.app.state, "onemap", None)
    data_dir = Path(state.settings.data_dir) if state is not None else Path(".onemap")
    found = {str(data_dir), str(data_dir.resolve()), tempfile.gettempdir(), os.getcwd()}
    return [root for root in found if len(root.strip("/.")) > 1]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return problem(400, "invalid parameter: " + "; ".join(parts), request)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path[:200]}; start at / for the links"
    elif exc.status_code == 413:  # FastAPI's body limiter (ogc.http.limits.body_caps)
        detail = (
            "the request body is larger than this server reads (ONEMAP_MAX_BODY_MB; uploads "
            "ONEMAP_MAX_UPLOAD_MB)"
        )
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
        path = request.url.path[:200]
        detail = f"{request.method} is not answered at {path}; use {headers['Allow']}"
    return problem(exc.status_code, detail, request, headers=headers)


def allowed_methods(request: Request) -> str:
    """``Allow`` of a 405: the methods of *every* route at this path — Starlette names only
    the first route's, and GET and POST of one path are separate routes here."""
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        route = context.original_route  # included without a prefix: the full path
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    if "GET" in methods:
        methods.add("HEAD")  # ogc.http.head_requests answers HEAD wherever GET is
    return ", ".join(sorted(methods))


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A database failure no route mapped itself (the pool's acquire timeout while
    PostgreSQL is down, a connection its restart broke): the 503 of the table."""
    assert isinstance(exc, OperationalError)
    log.warning("database unavailable on %s: %s", request.url.path, exc)
    response: JSONResponse = await _onemap_error(None)(request, unavailable(exc))
    return response


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """A value the caller sent that PostgreSQL cannot hold or compare (a NUL character, an
    integer out of range) and no route checked: the caller's mistake, so a 400 — with the
    driver's first line, which names the value's problem and never the statement."""
    assert isinstance(exc, DataError)
    log.info("data error on %s: %s", request.url.path, exc)
    reason = str(exc).splitlines()[0][:200] if str(exc) else "a value is not valid"
    return problem(400, f"a request value cannot be used: {reason}", request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return problem(500, "internal error; the server log has the details", request)


def install_error_handlers(app: FastAPI, observe: ErrorObserver | None = None) -> None:
    """The handlers of the one table; ``observe`` sees every domain error answered (the
    app counts denials for the audit with it: ``ogc.gate.denials``)."""
    app.add_exception_handler(OneMapError, _onemap_error(observe))
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
