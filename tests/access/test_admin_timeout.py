"""The admin API's statements carry the request statement timeout (ADR 0019): a slow
audit query is cancelled in PostgreSQL at ``ONEMAP_STATEMENT_TIMEOUT_MS`` and answered
as a 503 with ``Retry-After``, like every other request class on the request pool.

Slow without pg_sleep: another transaction holds the audit log's table lock, so the
query waits until its timeout cancels it.
"""

from __future__ import annotations

import threading
import time

import psycopg
from fastapi.testclient import TestClient

from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.conftest import PUBLISHER

TIMEOUT_MS = 300
RELEASE_S = 3.0  # without a timeout the query would wait this long, then succeed


def waiting_on_the_audit_log(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
        "AND wait_event_type = 'Lock' AND query ILIKE '%onemap.audit_log%'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_slow_audit_query_is_cancelled_at_the_statement_timeout(
    settings: ServiceSettings, sample_url: str
) -> None:
    short = settings.model_copy(update={"statement_timeout_ms": TIMEOUT_MS})
    with TestClient(create_app(short)) as admin, psycopg.connect(sample_url) as holder:
        assert admin.get("/admin/audit?limit=1", headers=PUBLISHER).status_code == 200
        holder.execute("LOCK TABLE onemap.audit_log IN ACCESS EXCLUSIVE MODE")
        release = threading.Timer(RELEASE_S, holder.rollback)
        release.start()
        started = time.monotonic()
        answer = admin.get("/admin/audit?limit=1", headers=PUBLISHER)
        took = time.monotonic() - started
        with psycopg.connect(sample_url, autocommit=True) as observer:
            left = waiting_on_the_audit_log(observer)
        release.join()
    assert left == 0  # cancelled in PostgreSQL, not left waiting
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] and "statement timeout" in answer.json()["detail"]
    assert TIMEOUT_MS / 1000 <= took < RELEASE_S - 0.5
