"""Connections to PostGIS: the async pool the service uses, and sync helpers.

Names are always quoted with ``psycopg.sql.Identifier``; values are always bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from layers.errors import DatabaseUnavailable

if TYPE_CHECKING:  # the pool is the service's; one-shot CLI commands never import it
    from psycopg_pool import AsyncConnectionPool

APPLICATION_NAME = "onemap"
# How often a backend running a query checks that its client is still there (PostgreSQL 14+,
# ``client_connection_check_interval``): a killed worker or ingest otherwise leaves its
# statement running — holding its locks — until the statement timeout or its end.
CLIENT_CHECK_MS = 1000
DATABASE_DOWN = (
    "the database is unreachable or restarting; retry in a moment (the server reconnects by itself)"
)
QUERY_CANCELLED = (
    "the query ran longer than the statement timeout or was cancelled; narrow it "
    "(bbox, filter, limit) or retry"
)


def unavailable(exc: psycopg.OperationalError) -> DatabaseUnavailable:
    """The one reading of a connection-level failure (``OperationalError``: the pool's
    acquire timeout while PostgreSQL is down, a connection a restart broke, a statement
    timeout) as the service's 503. The driver's text (host, port, socket path) is not
    quoted: callers log it."""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return DatabaseUnavailable(QUERY_CANCELLED)
    return DatabaseUnavailable(DATABASE_DOWN)


def with_options(
    database_url: str,
    *,
    statement_timeout_ms: int | None = None,
    parallel: bool = False,
    connect_timeout_s: int | None = None,
    application_name: str = APPLICATION_NAME,
) -> str:
    """Add the application name (unless the URL names one), a statement timeout, the
    parallelism, a connect timeout (libpq's, whole seconds, at least 2) and the check for a
    vanished client to a conninfo."""
    params = conninfo_to_dict(database_url)
    params.setdefault("application_name", application_name)
    if connect_timeout_s:
        params.setdefault("connect_timeout", str(max(2, int(connect_timeout_s))))
    options = [f"-c client_connection_check_interval={CLIENT_CHECK_MS}"]
    if statement_timeout_ms:
        options.append(f"-c statement_timeout={int(statement_timeout_ms)}")
    if statement_timeout_ms and not parallel:
        # Request queries are short: starting parallel workers (~25 ms per page measured)
        # costs more than it saves, so request connections plan without them.
        options.append("-c max_parallel_workers_per_gather=0")
    given = params.get("options")  # the URL's own options come first; ours win
    params["options"] = " ".join([str(given), *options] if given else options)
    return make_conninfo(**params)  # type: ignore[arg-type]


def connect(database_url: str, *, autocommit: bool = False) -> psycopg.Connection:
    """A sync connection, with a message a person can act on when it fails."""
    try:
        return psycopg.connect(with_options(database_url), autocommit=autocommit)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL at {redact(database_url)}: {exc}".strip()
        ) from exc


def open_pool_lazily(
    database_url: str,
    *,
    min_size: int,
    max_size: int,
    statement_timeout_ms: int,
    acquire_timeout_s: float = 30.0,
    connect_timeout_s: int | None = None,
    name: str = "onemap",
    slow_query_ms: int = 0,
) -> AsyncConnectionPool:
    """The request pool, not yet open: it keeps reconnecting while the database is down
    (and so heals by itself). A request waits at most ``acquire_timeout_s`` for a
    connection — the pool's ``PoolTimeout``, an ``OperationalError``, is a 503 — so a
    stopped database fails requests fast instead of holding them; ``connect_timeout_s``
    bounds each reconnection attempt to a host that does not answer at all; statements of
    ``slow_query_ms`` or more are logged (``layers.slow_queries``)."""
    from psycopg_pool import AsyncConnectionPool

    from layers.slow_queries import timed_cursor

    conninfo = with_options(
        database_url, statement_timeout_ms=statement_timeout_ms, connect_timeout_s=connect_timeout_s
    )
    return AsyncConnectionPool(
        conninfo,
        min_size=min_size,
        max_size=max_size,
        kwargs={"autocommit": True, "cursor_factory": timed_cursor(slow_query_ms)},
        open=False,
        name=name,
        timeout=acquire_timeout_s,
        reconnect_timeout=float("inf"),
    )


def redact(database_url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        params = conninfo_to_dict(database_url)
    except psycopg.ProgrammingError:
        return "<invalid database URL>"
    params.pop("password", None)
    return make_conninfo(**params)  # type: ignore[arg-type]


async def connect_async(
    database_url: str, *, autocommit: bool = False
) -> psycopg.AsyncConnection[tuple[object, ...]]:
    """An async connection (one-shot commands on async code), failing as ``connect`` does."""
    try:
        return await psycopg.AsyncConnection.connect(
            with_options(database_url), autocommit=autocommit
        )
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL at {redact(database_url)}: {exc}".strip()
        ) from exc
