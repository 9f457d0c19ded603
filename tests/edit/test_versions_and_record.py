"""An edit is a version of the layer's one version line, with its record, and no GET —
fast path or route — serves the old bytes or ETag afterwards; Part 4 is declared."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from tests.access.ownership_fixtures import audit_rows
from tests.edit.conftest import BUILDINGS, feature, write_headers
from tests.edit.test_create_replace_delete import ITEMS, create
from tests.features.test_feature_fastpath import fast_path

ITEM_PATH = "/collections/{collectionId}/items/{featureId}"
PART_4 = (
    "http://www.opengis.net/spec/ogcapi-common-5/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-common-5/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-common-5/1.0/conf/optimistic-locking-etags",
    "http://www.opengis.net/spec/ogcapi-common-5/1.0/conf/optimistic-locking-timestamps",
    "http://www.opengis.net/spec/ogcapi-common-5/1.0/conf/handling",
    "http://www.opengis.net/spec/ogcapi-common-5/1.0/conf/return-resource-representation-in-response",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/ogcapi-common-3/1.0/conf/returnables-and-receivables",
)


def test_part_4_is_declared(editing: TestClient) -> None:
    declared = editing.get("/conformance").json()["conformsTo"]
    assert set(PART_4) <= set(declared)


def test_an_edit_is_a_new_version_of_the_same_table_with_its_record(
    editing: TestClient, sample_url: str
) -> None:
    url = create(editing, feature("recorded"))
    fid = int(url.rsplit("/", 1)[1])
    etag = editing.get(url).headers["ETag"]
    headers = write_headers(**{"If-Match": etag, "X-Request-Id": "req-edit-1"})
    assert editing.put(url, json=feature("recorded twice"), headers=headers).status_code == 204
    with psycopg.connect(sample_url) as conn:
        edits = conn.execute(
            "SELECT e.operation, e.actor_subject, e.request_id,"
            " e.before -> 'properties' ->> 'name', e.after -> 'properties' ->> 'name',"
            " e.version, v.table_name, l.current_version"
            " FROM onemap.feature_edits AS e"
            " JOIN onemap.layer_versions AS v ON v.layer_id = e.layer_id AND v.version = e.version"
            " JOIN onemap.layers AS l ON l.id = e.layer_id"
            " WHERE e.layer_id = %s AND e.fid = %s ORDER BY e.version",
            (BUILDINGS, fid),
        ).fetchall()
    created, replaced = edits
    assert created[:2] == ("create", "alice") and created[3] is None
    assert replaced[:5] == ("replace", "alice", "req-edit-1", "recorded", "recorded twice")
    assert replaced[5] == created[5] + 1  # one version line: each edit is the next
    assert created[6] == replaced[6] == "edit_buildings_v1"  # edited in place
    assert replaced[7] == replaced[5]  # the edit's version is current
    assert editing.get(f"/collections/{BUILDINGS}").status_code == 200


def test_after_an_edit_no_get_serves_the_old_bytes_or_etag(editing: TestClient) -> None:
    url = create(editing, feature("before"))
    first = editing.get(url)
    served = fast_path(editing).served
    headers = write_headers(**{"If-Match": first.headers["ETag"]})
    assert editing.put(url, json=feature("after"), headers=headers).status_code == 204
    for _ in range(3):
        again = editing.get(url)
        assert again.json()["properties"]["name"] == "after"
        assert again.headers["ETag"] != first.headers["ETag"]
        revalidated = editing.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert revalidated.status_code == 200
    assert fast_path(editing).served == served  # an editable layer's features: the route's
    page = editing.get(f"{ITEMS}?limit=1000").json()
    assert "after" in {f["properties"]["name"] for f in page["features"]}


def test_edits_and_their_refusals_are_in_the_audit_log(
    editing: TestClient, sample_url: str
) -> None:
    url = create(editing, feature("audited"))
    fid = int(url.rsplit("/", 1)[1])
    etag = editing.get(url).headers["ETag"]
    stale = write_headers("root", **{"If-Match": '"0"', "X-Request-Id": "req-audit-412"})
    assert editing.put(url, json=feature(), headers=stale).status_code == 412
    fresh = write_headers("root", **{"If-Match": etag, "X-Request-Id": "req-audit-ok"})
    assert editing.put(url, json=feature(), headers=fresh).status_code == 204
    rows = [r for r in audit_rows(sample_url, "feature.replace", "root") if r["request_id"]]
    outcomes = {r["request_id"]: (r["outcome"], r["layer_id"], r["detail"]["fid"]) for r in rows}
    assert outcomes["req-audit-412"] == ("failed", BUILDINGS, fid)
    assert outcomes["req-audit-ok"] == ("ok", BUILDINGS, fid)
    created = audit_rows(sample_url, "feature.create", "alice")
    assert fid in {r["detail"]["fid"] for r in created}


def test_the_openapi_document_describes_the_edits(editing: TestClient) -> None:
    paths = editing.get("/api").json()["paths"]
    items, item = paths["/collections/{collectionId}/items"], paths[ITEM_PATH]
    assert "application/geo+json" in items["post"]["requestBody"]["content"]
    assert "application/merge-patch+json" in item["patch"]["requestBody"]["content"]
    for method in ("put", "patch", "delete"):
        headers = {p["name"] for p in item[method]["parameters"] if p["in"] == "header"}
        assert {"If-Match", "If-Unmodified-Since"} <= headers, method
