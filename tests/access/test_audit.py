"""The audit log: events written, never failing the request they record, queried with
filters; restricted-layer reads aggregated per caller × layer × hour."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from layers.access.audit import AuditEvent, AuditQuery, ReadCounter, query_events, record
from layers.access.caller import Caller
from layers.db import open_pool_lazily
from layers.errors import InvalidParameter

MEMBER = Caller(
    kind="user", subject="u-1001", departments=frozenset({"gz-plan"}), roles=frozenset({"member"})
)


async def test_events_are_recorded_and_filtered(
    access_url: str, aconn: psycopg.AsyncConnection
) -> None:
    pool = open_pool_lazily(access_url, min_size=1, max_size=2, statement_timeout_ms=5000)
    await pool.open(wait=True)
    at = datetime(2025, 6, 10, 2, 0, tzinfo=UTC)
    try:
        denied = AuditEvent(
            "request.denied", MEMBER, "denied", layer_id="gz-parcels", request_id="r-1",
            client_addr="10.0.0.9", detail={"path": "/collections/gz-parcels/items"}, at=at,
        )  # fmt: skip
        published = AuditEvent(
            "layer.publish", MEMBER, "ok", layer_id="gz-parcels", version=3, at=at
        )
        assert await record(pool, denied) and await record(pool, published)
        assert await record(
            pool, AuditEvent("layer.publish", MEMBER, client_addr="not-an-ip", at=at)
        )
    finally:
        await pool.close()

    window = AuditQuery(since=at, until=at + timedelta(seconds=1), actor="u-1001")
    events = await query_events(aconn, window)
    assert len(events) == 3
    only_denied = await query_events(aconn, AuditQuery(since=at, outcome="denied", actor="u-1001"))
    assert len(only_denied) == 1
    event = only_denied[0]
    assert event["client_addr"] == "10.0.0.9" and event["request_id"] == "r-1"
    assert event["actor_departments"] == ["gz-plan"] and event["layer_id"] == "gz-parcels"
    assert event["detail"] == {"path": "/collections/gz-parcels/items"}
    versions = await query_events(
        aconn, AuditQuery(since=at, operation="layer.publish", actor="u-1001")
    )
    assert {e["version"] for e in versions} == {3, None}
    in_layer = await query_events(aconn, AuditQuery(since=at, layer="gz-parcels"))
    assert {e["operation"] for e in in_layer} == {"request.denied", "layer.publish"}
    kept = next(e for e in versions if e["version"] is None)
    assert kept["client_addr"] is None and kept["detail"]["client_addr_given"] == "not-an-ip"


async def test_recording_never_fails_the_request(caplog: pytest.LogCaptureFixture) -> None:
    pool = open_pool_lazily(
        "postgresql://nobody@127.0.0.1:1/none", min_size=0, max_size=1, statement_timeout_ms=1
    )
    await pool.open(wait=False)
    pool.timeout = 0.5
    try:
        with caplog.at_level(logging.ERROR, logger="onemap.audit"):
            assert await record(pool, AuditEvent("layer.publish", MEMBER)) is False
    finally:
        await pool.close()
    assert "not recorded" in caplog.text


async def test_restricted_reads_are_counted_per_caller_layer_and_hour(
    access_url: str, aconn: psycopg.AsyncConnection
) -> None:
    counter = ReadCounter()
    hour = datetime(2025, 6, 10, 3, 0, tzinfo=UTC)
    for minute in range(50):
        counter.count(MEMBER, "gz-restricted", hour + timedelta(minutes=minute % 60, seconds=7))
    counter.count(MEMBER, "gz-restricted", hour + timedelta(hours=1))
    counter.count(MEMBER, "other-layer", hour)
    assert counter.pending == 52
    pool = open_pool_lazily(access_url, min_size=1, max_size=1, statement_timeout_ms=5000)
    await pool.open(wait=True)
    try:
        await counter.flush(pool)
        counter.count(MEMBER, "gz-restricted", hour + timedelta(minutes=59))
        await counter.flush(pool)
    finally:
        await pool.close()
    assert counter.pending == 0
    cur = await aconn.execute(
        "SELECT hour, layer_id, count, actor_departments FROM onemap.audit_reads"
        " WHERE actor_subject = 'u-1001' ORDER BY hour, layer_id"
    )
    rows = await cur.fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (hour, "gz-restricted", 51),
        (hour, "other-layer", 1),
        (hour + timedelta(hours=1), "gz-restricted", 1),
    ]
    assert rows[0][3] == ["gz-plan"]


async def test_reads_are_kept_when_the_database_is_away() -> None:
    counter = ReadCounter()
    counter.count(MEMBER, "gz-restricted")
    pool = open_pool_lazily(
        "postgresql://nobody@127.0.0.1:1/none", min_size=0, max_size=1, statement_timeout_ms=1
    )
    await pool.open(wait=False)
    pool.timeout = 0.5
    try:
        await counter.flush(pool)
    finally:
        await pool.close()
    assert counter.pending == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (AuditQuery(limit=0), "limit"),
        (AuditQuery(offset=-1), "offset"),
        (AuditQuery(outcome="maybe"), "outcome"),
        (AuditQuery(since=datetime(2025, 6, 1)), "time zone"),
        (
            AuditQuery(
                since=datetime(2025, 6, 2, tzinfo=UTC), until=datetime(2025, 6, 1, tzinfo=UTC)
            ),
            "before",
        ),
    ],
)
def test_bad_audit_queries_are_refused(query: AuditQuery, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        query.params()


async def test_a_caller_whose_departments_change_within_the_hour_is_one_row(
    access_url: str, aconn: psycopg.AsyncConnection
) -> None:
    counter = ReadCounter()
    hour = datetime(2025, 6, 11, 9, 0, tzinfo=UTC)
    moved = Caller(kind="user", subject="u-2002", departments=frozenset({"gz-plan"}))
    counter.count(moved, "gz-restricted", hour)
    counter.count(
        Caller(kind="user", subject="u-2002", departments=frozenset({"gd-nr"})),
        "gz-restricted",
        hour,
    )
    pool = open_pool_lazily(access_url, min_size=1, max_size=1, statement_timeout_ms=5000)
    await pool.open(wait=True)
    try:
        await counter.flush(pool)
    finally:
        await pool.close()
    cur = await aconn.execute(
        "SELECT count, actor_departments FROM onemap.audit_reads WHERE actor_subject = 'u-2002'"
    )
    assert await cur.fetchall() == [(2, ["gd-nr"])]
