"""After an edit, another replica (an app of its own on the same database) learns of it
from the catalog NOTIFY, and no cached vector tile shows the old feature (ADR 0013, 1, 8)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.edit.conftest import BUILDINGS, feature, write_headers
from tests.edit.test_create_replace_delete import ITEMS, create
from tests.helpers.wait import wait_for
from tests.tiles.helpers import decode, tile_at

Z = 15


def test_another_replica_serves_the_edit_once_notified(
    editing: TestClient, replica: TestClient
) -> None:
    url = create(editing, feature("on one replica"))
    path = url.split("testserver", 1)[1]
    wait_for(lambda: replica.get(path).status_code == 200, "the replica never saw the feature")
    page_etag = replica.get(ITEMS).headers["ETag"]
    headers = write_headers(**{"If-Match": replica.get(path).headers["ETag"]})
    assert editing.put(url, json=feature("on every replica"), headers=headers).status_code == 204
    assert replica.get(path).json()["properties"]["name"] == "on every replica"
    assert replica.get(path).headers["ETag"] == editing.get(url).headers["ETag"]
    wait_for(
        lambda: replica.get(ITEMS).headers["ETag"] != page_etag,
        "the replica's pages still carry the version before the edit",
    )


def names_in_tile(client: TestClient, fid: int) -> list[str]:
    row, col = tile_at("WebMercatorQuad", Z, 113.3102, 23.1101)
    answer = client.get(f"/collections/{BUILDINGS}/tiles/WebMercatorQuad/{Z}/{row}/{col}")
    assert answer.status_code == 200, answer.text
    layer = decode(answer.content).get(BUILDINGS, {"features": []})
    return [f["properties"].get("name") for f in layer["features"] if f.get("id") == fid]


def test_a_cached_tile_never_shows_the_feature_before_its_edit(editing: TestClient) -> None:
    url = create(editing, feature("tiled before"))
    fid = int(url.rsplit("/", 1)[1])
    assert names_in_tile(editing, fid) == ["tiled before"]
    assert names_in_tile(editing, fid) == ["tiled before"]  # now from the cache
    headers = write_headers(**{"If-Match": editing.get(url).headers["ETag"]})
    assert editing.put(url, json=feature("tiled after"), headers=headers).status_code == 204
    assert names_in_tile(editing, fid) == ["tiled after"]
