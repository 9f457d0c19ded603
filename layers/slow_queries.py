"""Slow request statements, logged with the layer and request they served.

The request pool's connections make their cursors with ``timed_cursor(ms)`` (psycopg's
``cursor_factory``), so every ``execute`` on them — items, single features, tiles, search,
WMTS — is timed in this one place, at the cost of two clock reads. One that takes at least
the threshold (``ONEMAP_SLOW_QUERY_MS``) is logged on ``onemap.slow_query`` with its
duration, the layer the request is about and its request id. Neither is known down here:
the web layer names them per request in ``QUERY_CONTEXT`` (a context variable, so each
request's task, and the worker threads it starts, see their own).
"""

from __future__ import annotations

import contextvars
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg import sql
from psycopg.abc import Params, Query

log = logging.getLogger("onemap.slow_query")
STATEMENT_CHARS = 300  # enough to tell statements apart; the values are bound, never here


@dataclass(frozen=True, slots=True)
class QueryContext:
    """What a request's statements are for."""

    request_id: str | None = None
    layer_id: str | None = None


NO_CONTEXT = QueryContext()
QUERY_CONTEXT: contextvars.ContextVar[QueryContext | None] = contextvars.ContextVar(
    "onemap_query_context", default=None
)


def query_context() -> QueryContext:
    return QUERY_CONTEXT.get() or NO_CONTEXT


def begin_request(request_id: str) -> None:
    """A new request (in its own task): its statements carry its id, no layer yet."""
    QUERY_CONTEXT.set(QueryContext(request_id=request_id))


def about_layer(layer_id: str) -> None:
    """The request's statements from now on read ``layer_id``."""
    QUERY_CONTEXT.set(replace(query_context(), layer_id=layer_id))


def timed_cursor(slow_query_ms: int) -> type[psycopg.AsyncCursor[Any]]:
    """A cursor class that logs statements running ``slow_query_ms`` or longer (0: none)."""
    threshold_s = slow_query_ms / 1000 if slow_query_ms > 0 else float("inf")

    class TimedCursor(psycopg.AsyncCursor[Any]):
        async def execute(
            self,
            query: Any,  # psycopg's overloads, of which the service uses the first
            params: Params | None = None,
            *,
            prepare: bool | None = None,
            binary: bool | None = None,
        ) -> TimedCursor:
            started = time.perf_counter()
            try:
                await super().execute(query, params, prepare=prepare, binary=binary)
            finally:
                elapsed = time.perf_counter() - started
                if elapsed >= threshold_s:
                    _report(self.connection, query, elapsed)
            return self

    return TimedCursor


def _report(conn: psycopg.AsyncConnection[Any], query: Query, elapsed_s: float) -> None:
    context = query_context()
    log.warning(
        "slow query: %.0f ms on layer %s (request %s): %s",
        elapsed_s * 1000,
        context.layer_id or "-",
        context.request_id or "-",
        _statement_text(conn, query),
        extra={
            "duration_ms": round(elapsed_s * 1000, 1),
            "layer_id": context.layer_id,
            "request_id": context.request_id,
        },
    )


def _statement_text(conn: psycopg.AsyncConnection[Any], query: Query) -> str:
    try:
        if isinstance(query, sql.Composable):
            text = query.as_string(conn)
        elif isinstance(query, bytes):
            text = query.decode("utf-8", "replace")
        else:
            text = str(query)
    except Exception:  # a statement that cannot be shown is still worth the log line
        text = "<statement>"
    return " ".join(text.split())[:STATEMENT_CHARS]
