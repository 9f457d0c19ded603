"""Batches (ADR 0013, decision 10): several edits in one request, all or nothing, one
version; each operation's precondition is checked under the layer's lock."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi.testclient import TestClient

from tests.access.ownership_fixtures import as_
from tests.edit.conftest import BUILDINGS, feature, ids, write_headers
from tests.edit.test_create_replace_delete import ITEMS, create

BATCH = f"/collections/{BUILDINGS}/batch"


def layer_state(url: str, layer_id: str = BUILDINGS) -> tuple[int, int]:
    """The layer's current version and its feature count."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT l.current_version, v.feature_count FROM onemap.layers AS l"
            " JOIN onemap.layer_versions AS v ON v.layer_id = l.id"
            " AND v.version = l.current_version WHERE l.id = %s",
            (layer_id,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def batch(client: TestClient, operations: list[dict[str, Any]], **headers: str) -> Any:
    return client.post(
        BATCH,
        json={"operations": operations},
        headers=as_("alice") | {"Content-Type": "application/json"} | headers,
    )


def validators(client: TestClient, url: str) -> tuple[str, str]:
    got = client.get(url)
    assert got.status_code == 200, got.text
    return got.headers["ETag"], got.headers["Last-Modified"]


def test_a_batch_applies_every_operation_as_one_version(
    editing: TestClient, sample_url: str
) -> None:
    replaced, updated, deleted = (create(editing, feature(f"batch {n}")) for n in range(3))
    version, count = layer_state(sample_url)
    operations = [
        {"op": "create", "feature": feature("batch new")},
        {
            "op": "replace",
            "id": replaced.rsplit("/", 1)[1],
            "feature": feature("batch replaced"),
            "ifMatch": validators(editing, replaced)[0],
        },
        {
            "op": "update",
            "id": int(updated.rsplit("/", 1)[1]),
            "patch": {"properties": {"height": 99.5}},
            "ifUnmodifiedSince": validators(editing, updated)[1],
        },
        {"op": "delete", "id": deleted.rsplit("/", 1)[1], "ifMatch": "*"},
    ]
    answer = batch(editing, operations)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["version"] == version + 1
    assert [o["status"] for o in result["operations"]] == [201, 200, 200, 204]
    assert layer_state(sample_url) == (version + 1, count)  # +1 created, -1 deleted
    new = editing.get(result["operations"][0]["href"])
    assert new.json()["properties"]["name"] == "batch new"
    assert new.headers["ETag"] == result["operations"][0]["etag"]
    assert editing.get(replaced).json()["properties"]["name"] == "batch replaced"
    assert editing.get(updated).json()["properties"]["height"] == 99.5
    assert editing.get(updated).json()["properties"]["name"] == "batch 1"
    assert editing.get(deleted).status_code == 404
    with psycopg.connect(sample_url) as conn:
        recorded = conn.execute(
            "SELECT operation FROM onemap.feature_edits WHERE layer_id = %s AND version = %s"
            " ORDER BY id",
            (BUILDINGS, version + 1),
        ).fetchall()
        events = conn.execute(
            "SELECT data FROM onemap.change_events WHERE layer_id = %s"
            " AND (data ->> 'version')::int = %s",
            (BUILDINGS, version + 1),
        ).fetchall()
    assert [r[0] for r in recorded] == ["create", "replace", "update", "delete"]
    assert len(events) == 1  # one version, one change event naming every feature
    assert events[0][0]["operation"] == "batch" and len(events[0][0]["fids"]) == 4


def test_a_failing_operation_in_the_middle_changes_nothing(
    editing: TestClient, sample_url: str
) -> None:
    first, stale, last = (create(editing, feature(f"atomic {n}")) for n in range(3))
    old_etag = validators(editing, stale)[0]
    moved = editing.put(
        stale, json=feature("moved on"), headers=write_headers(**{"If-Match": old_etag})
    )
    assert moved.status_code == 204
    before = layer_state(sample_url)
    listed = ids(editing)
    answer = batch(
        editing,
        [
            {"op": "create", "feature": feature("never stored")},
            {"op": "delete", "id": first.rsplit("/", 1)[1], "ifMatch": "*"},
            {
                "op": "replace",
                "id": stale.rsplit("/", 1)[1],
                "feature": feature("lost"),
                "ifMatch": old_etag,
            },
            {"op": "delete", "id": last.rsplit("/", 1)[1], "ifMatch": "*"},
        ],
    )
    assert answer.status_code == 412, answer.text
    assert answer.json()["detail"].startswith("operation 2 (replace of feature ")
    assert answer.headers["ETag"] == validators(editing, stale)[0]
    assert layer_state(sample_url) == before
    assert ids(editing) == listed
    assert editing.get(first).status_code == 200 and editing.get(last).status_code == 200
    assert editing.get(stale).json()["properties"]["name"] == "moved on"


def test_each_operation_needs_its_precondition_and_an_existing_feature(
    editing: TestClient, sample_url: str
) -> None:
    url = create(editing, feature("unconditional"))
    before = layer_state(sample_url)
    fid = url.rsplit("/", 1)[1]
    unconditional = batch(editing, [{"op": "delete", "id": fid}])
    assert unconditional.status_code == 428
    assert "operation 0 (delete of feature" in unconditional.json()["detail"]
    missing = batch(editing, [{"op": "delete", "id": "999999999", "ifMatch": "*"}])
    assert missing.status_code == 404
    invalid = batch(
        editing,
        [{"op": "create", "feature": feature()}, {"op": "create", "feature": feature(height="x")}],
    )
    assert invalid.status_code == 422 and "operation 1 (create)" in invalid.json()["detail"]
    repeated = batch(
        editing, [{"op": "delete", "id": fid, "ifMatch": "*"}, {"op": "delete", "id": fid}]
    )
    assert repeated.status_code == 400 and "one operation per feature" in repeated.text
    for bad in ({}, {"operations": []}, {"operations": [{"op": "rename"}]}):
        answer = editing.post(BATCH, json=bad, headers=as_("alice"))
        assert answer.status_code == 400, answer.text
    assert layer_state(sample_url) == before


def test_a_feature_collection_posted_to_the_items_creates_all_its_features(
    editing: TestClient, sample_url: str
) -> None:
    version, count = layer_state(sample_url)
    collection = {"type": "FeatureCollection", "features": [feature("fc 1"), feature("fc 2")]}
    answer = editing.post(ITEMS, json=collection, headers=write_headers())
    assert answer.status_code == 201, answer.text
    hrefs = [o["href"] for o in answer.json()["operations"]]
    assert [editing.get(h).json()["properties"]["name"] for h in hrefs] == ["fc 1", "fc 2"]
    assert layer_state(sample_url) == (version + 1, count + 2)
    broken = {"type": "FeatureCollection", "features": [feature("fc 3"), {"type": "Feature"}]}
    refused = editing.post(ITEMS, json=broken, headers=write_headers())
    assert refused.status_code == 422, refused.text
    assert layer_state(sample_url) == (version + 1, count + 2)


def test_batches_go_through_the_gate(editing: TestClient) -> None:
    operations = {"operations": [{"op": "create", "feature": feature("intruder")}]}
    json_type = {"Content-Type": "application/json"}
    for who in ("bob", "bea"):  # another department's publisher, a member
        answer = editing.post(BATCH, json=operations, headers=as_(who) | json_type)
        assert answer.status_code == 403, answer.text
    assert editing.post(BATCH, json=operations, headers=json_type).status_code == 403
    closed = editing.post(
        "/collections/edit-closed/batch", json=operations, headers=as_("alice") | json_type
    )
    assert closed.status_code == 405
    unknown = editing.post("/collections/nowhere/batch", json=operations, headers=as_("alice"))
    assert unknown.status_code == 404
