"""Delivery: at least once, in order per layer, signed, retried, never for a rolled-back
change (docs/adr/0014-change-notifications.md). A real receiver on a loopback port, the real
app and its delivery worker, real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.access.ownership_fixtures import DEPT_A, DEPT_B, as_
from tests.helpers.wait import wait_for
from tests.webhooks.conftest import (
    PUBLIC,
    copy_table,
    create,
    publish_layer,
    subscribe,
    write_headers,
)
from tests.webhooks.receiver import Receiver

EDITED = "cn.gov.gd.onemap.feature.edited"
PUBLISHED = "cn.gov.gd.onemap.layer.published"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    live = Receiver()
    yield live
    live.stop()


def events_of(receiver: Receiver, layer_id: str, count: int) -> list[dict[str, Any]]:
    """Wait for ``count`` distinct accepted events about ``layer_id``; them, in arrival order."""

    def arrived() -> list[dict[str, Any]] | None:
        found = [e for e in receiver.events() if e["subject"] == layer_id]
        return found if len(found) >= count else None

    return wait_for(arrived, lambda: f"only {len(receiver.events())} events arrived", timeout=20)


def edit_three(client: TestClient) -> list[int]:
    """Create, update and delete one feature of ``hook-public``; the versions produced."""
    fid = create(client, PUBLIC, "school")
    item = f"/collections/{PUBLIC}/items/{fid}"
    etag = client.get(item, headers=as_("alice")).headers["ETag"]
    patch_headers = write_headers() | {
        "Content-Type": "application/merge-patch+json",
        "If-Match": etag,
    }
    patched = client.patch(
        item, json={"properties": {"name": "school (moved)"}}, headers=patch_headers
    )
    assert patched.status_code in (200, 204), patched.text
    etag = client.get(item, headers=as_("alice")).headers["ETag"]
    deleted = client.delete(item, headers=as_("alice") | {"If-Match": etag})
    assert deleted.status_code == 204, deleted.text
    versions = client.get(f"/collections/{PUBLIC}", headers=as_("alice")).json()
    current = int(versions["onemap:layer"]["version"])
    return [current - 2, current - 1, current]


def test_a_failing_receiver_gets_every_event_in_order_signed(
    hooks: TestClient, receiver: Receiver
) -> None:
    receiver.fail_first = 3
    receiver.start()
    made = subscribe(hooks, department=DEPT_B, layer=PUBLIC, url=receiver.url)
    versions = edit_three(hooks)
    events = events_of(receiver, PUBLIC, 3)
    assert [e["data"]["version"] for e in events] == versions
    assert [e["data"]["operation"] for e in events] == ["create", "update", "delete"]
    first = receiver.requests[0]
    assert first.answered == 500
    assert receiver.requests[3].headers["webhook-id"] == first.headers["webhook-id"]  # retried
    for request in receiver.requests:
        assert request.signed_by(made["secret"]), request.headers
        assert not request.signed_by("whsec_" + "A" * 44)
        assert request.headers["content-type"].startswith("application/cloudevents+json")
    event = events[0]
    assert event["specversion"] == "1.0" and event["source"] == "urn:onemap"
    assert event["type"] == EDITED and event["subject"] == PUBLIC
    assert event["data"]["who"] == "user:alice" and len(event["data"]["fids"]) == 1
    assert event["id"] == first.headers["webhook-id"]
    path = f"/admin/subscriptions/{made['subscription']['id']}/deliveries?state=delivered"

    def recorded() -> list[dict[str, Any]] | None:  # each is recorded after its answer
        found: list[dict[str, Any]] = hooks.get(path, headers=as_("alice")).json()["deliveries"]
        return found if len(found) == 3 else None

    delivered = wait_for(recorded, "the deliveries were never all recorded as delivered")
    assert delivered[-1]["attempts"] == 4  # three 500s, then 204


def test_a_receiver_that_is_down_gets_the_backlog_when_it_returns(
    hooks: TestClient, receiver: Receiver
) -> None:
    made = subscribe(hooks, department=DEPT_B, layer=PUBLIC, url=receiver.url)
    sub = made["subscription"]["id"]
    versions = edit_three(hooks)

    def failed_once() -> bool:
        answer = hooks.get(f"/admin/subscriptions/{sub}/deliveries", headers=as_("alice"))
        return any(d["attempts"] >= 1 and d["lastError"] for d in answer.json()["deliveries"])

    wait_for(failed_once, "the worker never tried the receiver while it was down")
    assert receiver.requests == []
    receiver.start()
    events = events_of(receiver, PUBLIC, 3)
    assert [e["data"]["version"] for e in events] == versions


def test_a_change_that_rolled_back_is_never_sent(
    hooks: TestClient, receiver: Receiver, sample_url: str
) -> None:
    receiver.start()
    subscribe(hooks, department=DEPT_B, layer=PUBLIC, url=receiver.url)
    with psycopg.connect(sample_url) as conn:
        with pytest.raises(RuntimeError), conn.transaction():
            from tests.helpers.catalog import fixture_meta, register_table
            from tests.webhooks.conftest import FIELDS, TABLE

            meta = fixture_meta(PUBLIC, "点", "Points", department_id=DEPT_A)
            lost = register_table(conn, meta, TABLE, FIELDS, "Point")
            raise RuntimeError("the publish fails after its catalog write")
        stored = conn.execute(
            "SELECT count(*) FROM onemap.change_events WHERE layer_id = %s "
            "AND (data->>'version')::int = %s",
            (PUBLIC, lost),
        ).fetchone()
    assert stored == (0,)
    kept = publish_layer(sample_url, PUBLIC, DEPT_A)
    events = events_of(receiver, PUBLIC, 1)
    assert [(e["type"], e["data"]["version"]) for e in events] == [(PUBLISHED, kept)]
    assert kept == lost  # the lost version's number was never used


def test_dead_after_the_last_attempt_then_redelivered_on_request(
    hooks: TestClient, receiver: Receiver
) -> None:
    receiver.fail_first = 10**6
    receiver.start()
    made = subscribe(hooks, department=DEPT_B, layer=PUBLIC, url=receiver.url)
    sub = made["subscription"]["id"]
    create(hooks, PUBLIC, "doomed")

    def dead() -> list[dict[str, Any]]:
        answer = hooks.get(
            f"/admin/subscriptions/{sub}/deliveries?state=dead", headers=as_("alice")
        )
        found: list[dict[str, Any]] = answer.json()["deliveries"]
        return found

    gone = wait_for(dead, "the delivery never died", timeout=20)
    assert gone[0]["attempts"] == 8 and gone[0]["lastStatus"] == 500  # tests' max_attempts
    summary = hooks.get(f"/admin/subscriptions/{sub}", headers=as_("alice")).json()
    assert summary["deliveries"] == {"pending": 0, "delivered": 0, "dead": 1}
    receiver.fail_first = 0
    again = hooks.post(f"/admin/subscriptions/{sub}/redeliver", headers=as_("alice"))
    assert again.json() == {"redelivering": 1}
    events = events_of(receiver, PUBLIC, 1)
    assert events[0]["id"] == gone[0]["event"]


def test_rollback_and_delete_are_notified(
    hooks: TestClient, receiver: Receiver, sample_url: str
) -> None:
    receiver.start()
    layer, table = "hook-temp", copy_table(sample_url, "hook_temp_v1")
    first = publish_layer(sample_url, layer, DEPT_A, table=table)
    wait_for(lambda: hooks.get(f"/collections/{layer}").status_code == 200, "no hook-temp")
    subscribe(hooks, department=DEPT_B, layer=layer, url=receiver.url)
    second = publish_layer(sample_url, layer, DEPT_A, table=table)
    wait_for(
        lambda: hooks.get(f"/collections/{layer}").json()["onemap:layer"]["version"] == second,
        "the second version never showed",
    )
    rolled = hooks.post(
        f"/admin/layers/{layer}/rollback", json={"version": first}, headers=as_("alice")
    )
    assert rolled.status_code == 200, rolled.text
    deleted = hooks.delete(f"/admin/layers/{layer}", headers=as_("alice"))
    assert deleted.status_code == 200, deleted.text
    events = events_of(receiver, layer, 3)
    assert [(e["type"].rsplit(".", 1)[1], e["data"]["version"]) for e in events] == [
        ("published", second),
        ("rolledback", first),
        ("deleted", first),
    ]
    assert events[1]["data"]["who"] == "user:alice"


def test_two_servers_deliver_each_event_once(
    hooks: TestClient, receiver: Receiver, settings: ServiceSettings
) -> None:
    receiver.start()
    other = create_app(settings)
    with TestClient(other):
        subscribe(hooks, department=DEPT_B, layer=PUBLIC, url=receiver.url)
        for n in range(4):
            create(hooks, PUBLIC, f"twin {n}")
        events_of(receiver, PUBLIC, 4)
        ids = [r.headers["webhook-id"] for r in receiver.accepted()]
        assert len(ids) == len(set(ids)) == 4
        leaders = [hooks.app.state.onemap.webhooks.leading, other.state.onemap.webhooks.leading]
        assert leaders.count(True) <= 1
