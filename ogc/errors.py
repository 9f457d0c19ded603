"""The one table from domain errors to HTTP, with OGC API exception bodies."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from layers.errors import (
    Conflict,
    DatabaseUnavailable,
    EmbeddedClusterError,
    Forbidden,
    IngestError,
    InvalidParameter,
    NotFound,
    OneMapError,
    PayloadTooLarge,
)

log = logging.getLogger("onemap.http")

STATUS_OF: dict[type[OneMapError], int] = {
    InvalidParameter: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    IngestError: 422,
    DatabaseUnavailable: 503,
    EmbeddedClusterError: 503,
}
TITLES = {
    400: "Bad Request",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def status_of(exc: OneMapError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500


def exception_body(
    status: int, detail: str, request: Request, exception_type: str | None = None
) -> dict[str, object]:
    """OGC API / RFC 7807 problem details (``code`` + ``description`` as OGC API expects).

    ``exception_type``: the URI a standard defines for this error (e.g. OGC API – Processes'
    ``.../no-such-job``); otherwise the status's generic one.
    """
    title = TITLES.get(status, "Error")
    return {
        "type": exception_type or f"https://httpstatuses.io/{status}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": title.replace(" ", ""),
        "description": detail,
        "instance": str(request.url.path),
    }


def problem(
    status: int, detail: str, request: Request, exception_type: str | None = None
) -> JSONResponse:
    return JSONResponse(
        exception_body(status, detail, request, exception_type),
        status_code=status,
        media_type="application/problem+json",
    )


async def _onemap_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OneMapError)
    status = getattr(exc, "http_status", None)  # an error carrying its own (a failed job)
    return problem(
        status if isinstance(status, int) else status_of(exc),
        exc.message,
        request,
        getattr(exc, "exception_type", None),
    )


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
        detail = f"no resource at {request.url.path}; start at / for the links"
    return problem(exc.status_code, detail, request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return problem(500, "internal error; the server log has the details", request)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OneMapError, _onemap_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
