"""Part 4 "Create/Replace/Delete" (/conf/create-replace-delete/*) on an editable layer."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.testclient import TestClient

from tests.access.ownership_fixtures import as_
from tests.edit.conftest import BUILDINGS, CLOSED, feature, ids, write_headers

ITEMS = f"/collections/{BUILDINGS}/items"


def create(client: TestClient, body: dict[str, Any] | None = None) -> str:
    """A new feature's URL (from the Location of the 201)."""
    answer = client.post(ITEMS, json=body or feature(), headers=write_headers())
    assert answer.status_code == 201, answer.text
    return str(answer.headers["Location"])


def current_etag(client: TestClient, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, answer.text
    return str(answer.headers["ETag"])


def test_options_declare_the_methods_and_media_types(editing: TestClient) -> None:
    items = editing.options(ITEMS)
    assert items.status_code == 200
    assert {"GET", "POST"} <= {m.strip() for m in items.headers["Allow"].split(",")}
    assert "application/geo+json" in items.headers["Accept-Post"]
    one = editing.options(f"{ITEMS}/{ids(editing)[0]}")
    assert {"PUT", "PATCH", "DELETE"} <= {m.strip() for m in one.headers["Allow"].split(",")}
    assert one.headers["Accept-Patch"] == "application/merge-patch+json"
    closed = editing.options(f"/collections/{CLOSED}/items")
    assert "POST" not in closed.headers["Allow"]


def test_create_answers_201_with_a_location_that_serves_the_feature(
    editing: TestClient,
) -> None:
    before = ids(editing)
    body = feature("created hall", height=12.5)
    url = create(editing, body)
    got = editing.get(url)
    assert got.status_code == 200
    created = got.json()
    assert created["id"] not in before
    assert created["properties"]["name"] == "created hall"
    assert created["properties"]["height"] == 12.5
    assert created["geometry"]["type"] == "MultiPolygon"  # the layer's type, as ingest stores
    assert created["geometry"]["coordinates"] == [body["geometry"]["coordinates"]]


def test_create_without_content_type_is_400(editing: TestClient) -> None:
    answer = editing.post(ITEMS, content=orjson.dumps(feature()), headers=as_("alice"))
    assert answer.status_code == 400
    assert "Content-Type" in answer.json()["detail"]


def test_create_with_another_media_type_is_415(editing: TestClient) -> None:
    headers = write_headers(**{"Content-Type": "text/csv"})
    answer = editing.post(ITEMS, content=b"a,b", headers=headers)
    assert answer.status_code == 415


def test_replace_sets_every_field_and_ignores_an_id_in_the_body(editing: TestClient) -> None:
    url = create(editing, feature("to replace", built="2021-03-04"))
    body = feature("replaced", height=3.0) | {"id": 999999}
    answer = editing.put(
        url, json=body, headers=write_headers(**{"If-Match": current_etag(editing, url)})
    )
    assert answer.status_code == 204, answer.text
    got = editing.get(url).json()
    assert got["id"] == int(url.rsplit("/", 1)[1])
    assert got["properties"]["name"] == "replaced"
    assert got["properties"]["built"] is None  # a replace sets what it is given, nothing more
    assert editing.get(f"{ITEMS}/999999").status_code == 404


def test_replace_of_a_missing_feature_is_404_whatever_the_precondition(
    editing: TestClient,
) -> None:
    for extra in ({"If-Match": '"xyz"'}, {"If-Unmodified-Since": "Wed, 01 Jan 2020 00:00:00 GMT"}):
        answer = editing.put(f"{ITEMS}/987654321", json=feature(), headers=write_headers(**extra))
        assert answer.status_code == 404, answer.text
    assert editing.get(f"{ITEMS}/987654321").status_code == 404


def test_replace_without_content_type_is_400(editing: TestClient) -> None:
    url = create(editing)
    headers = as_("alice") | {"If-Match": current_etag(editing, url)}
    answer = editing.put(url, content=orjson.dumps(feature()), headers=headers)
    assert answer.status_code == 400


def test_delete_removes_the_feature(editing: TestClient) -> None:
    url = create(editing)
    answer = editing.delete(url, headers=as_("alice") | {"If-Match": current_etag(editing, url)})
    assert answer.status_code == 204, answer.text
    assert editing.get(url).status_code == 404
    assert int(url.rsplit("/", 1)[1]) not in ids(editing)


def test_only_the_owning_department_and_admins_may_edit(editing: TestClient) -> None:
    assert editing.post(ITEMS, json=feature(), headers=write_headers("bob")).status_code == 403
    assert editing.post(ITEMS, json=feature(), headers=write_headers("bea")).status_code == 403
    anonymous = {"Content-Type": "application/geo+json"}
    assert editing.post(ITEMS, json=feature(), headers=anonymous).status_code == 403
    assert editing.post(ITEMS, json=feature(), headers=write_headers("root")).status_code == 201
    opened = editing.put(
        f"/collections/{CLOSED}/editing", json={"editable": True}, headers=as_("bob")
    )
    assert opened.status_code == 403


def test_a_layer_not_opened_for_editing_answers_405(editing: TestClient) -> None:
    answer = editing.post(f"/collections/{CLOSED}/items", json=feature(), headers=write_headers())
    assert answer.status_code == 405
    assert "editing" in answer.json()["detail"]
    assert "POST" not in answer.headers["Allow"]
