"""Part 4 "Update" and /conf/features/json-merge-patch: PATCH with RFC 7396 documents."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient

from tests.access.ownership_fixtures import as_
from tests.edit.conftest import feature
from tests.edit.test_create_replace_delete import create, current_etag

MERGE = "application/merge-patch+json"


def patch_headers(etag: str, **extra: str) -> dict[str, str]:
    return as_("alice") | {"Content-Type": MERGE, "If-Match": etag} | extra


def test_patch_changes_adds_and_removes_what_it_names_and_nothing_else(
    editing: TestClient,
) -> None:
    url = create(editing, feature("patched", built="2022-02-02", height=7.2))
    ring = [[113.32, 23.12], [113.3205, 23.12], [113.3205, 23.1204], [113.32, 23.12]]
    patch = {
        "properties": {"height": 7.8, "name": None},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    answer = editing.patch(
        url, content=orjson.dumps(patch), headers=patch_headers(current_etag(editing, url))
    )
    assert answer.status_code == 204, answer.text
    got = editing.get(url).json()
    assert got["properties"]["height"] == 7.8
    assert got["properties"]["name"] is None
    assert got["properties"]["function"] == "public"  # untouched
    assert got["properties"]["built"] == "2022-02-02"  # untouched
    assert got["geometry"]["coordinates"] == [[ring]]


def test_patch_without_geometry_keeps_the_stored_one(editing: TestClient) -> None:
    url = create(editing)
    before = editing.get(url).json()["geometry"]
    patch = {"properties": {"function": "residential"}}
    answer = editing.patch(
        url, content=orjson.dumps(patch), headers=patch_headers(current_etag(editing, url))
    )
    assert answer.status_code == 204, answer.text
    got = editing.get(url).json()
    assert got["geometry"] == before
    assert got["properties"]["function"] == "residential"


def test_patch_changing_the_id_is_rejected(editing: TestClient) -> None:
    url = create(editing)
    answer = editing.patch(
        url, content=b'{"id": 1}', headers=patch_headers(current_etag(editing, url))
    )
    assert answer.status_code == 400
    assert "'id' cannot be changed" in answer.json()["detail"]


def test_patch_needs_the_merge_patch_media_type(editing: TestClient) -> None:
    url = create(editing)
    etag = current_etag(editing, url)
    body = b'{"properties": {"height": 1}}'
    missing = editing.patch(url, content=body, headers=as_("alice") | {"If-Match": etag})
    assert missing.status_code == 400
    other = editing.patch(
        url, content=body, headers=patch_headers(etag, **{"Content-Type": "application/json"})
    )
    assert other.status_code == 415
