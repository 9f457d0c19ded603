"""Reverting a feature to a version: an edit like any other — conditional, a new version,
recorded with what it reverted to, audited — and only by those who may edit."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.access.ownership_fixtures import as_, audit_rows
from tests.edit.conftest import CLOSED
from tests.edit.history_fixtures import (
    RESTRICTED,
    as_caller,
    layer_version,
    open_history_layers,
    point,
)

ALICE = as_("alice")
ITEMS = f"/collections/{RESTRICTED}/items"
GEOJSON = {"Content-Type": "application/geo+json"}


@pytest.fixture(scope="module")
def history(editing: TestClient, sample_url: str) -> tuple[TestClient, dict[str, int]]:
    return editing, open_history_layers(editing, sample_url)


def _etag(client: TestClient, url: str) -> str:
    return str(client.get(url, headers=ALICE).headers["ETag"])


def _base(etag: str) -> str:
    """A feature's ETag without the suffix of a representation (ADR 0013, decision 4)."""
    layer, fid, version = etag.strip('"').split(".")[:3]
    return f'"{layer}.{fid}.{version}"'


def _made(client: TestClient, name: str) -> str:
    made = client.post(ITEMS, json=point(name), headers=ALICE | GEOJSON)
    assert made.status_code == 201, made.text
    return str(made.headers["Location"])


def _renamed(client: TestClient, url: str, name: str) -> None:
    headers = ALICE | GEOJSON | {"If-Match": _etag(client, url)}
    answer = client.put(url, json=point(name, 113.38, 23.16), headers=headers)
    assert answer.status_code == 204, answer.text


def _revert(client: TestClient, url: str, version: int, **headers: str) -> Any:
    return client.post(f"{url}/versions/{version}/revert", headers=ALICE | headers)


def test_a_revert_brings_back_the_version_as_a_new_recorded_edit(
    history: tuple[TestClient, dict[str, int]], sample_url: str
) -> None:
    client, _ = history
    url = _made(client, "original")
    original = layer_version(sample_url, RESTRICTED)
    _renamed(client, url, "wrong")
    etag = _etag(client, url)
    answer = _revert(client, url, original, **{"If-Match": etag, "X-Request-Id": "rev-1"})
    assert answer.status_code == 200, answer.text
    made = answer.json()
    assert made["revertedTo"] == original and made["exists"] is True
    assert made["version"] == layer_version(sample_url, RESTRICTED) > original + 1
    now = client.get(url, headers=ALICE)
    assert now.json()["properties"]["name"] == "original"
    assert now.json()["geometry"]["coordinates"] == pytest.approx([113.37, 23.15])
    assert _base(now.headers["ETag"]) == answer.headers["ETag"] != _base(etag)
    listing = client.get(f"{url}/versions", headers=ALICE).json()
    newest = listing["features"][0]["revision"]
    assert newest["version"] == made["version"] and newest["revertedTo"] == original
    assert newest["operation"] == "replace" and newest["requestId"] == "rev-1"
    fid = int(url.rsplit("/", 1)[1])
    rows = audit_rows(sample_url, "feature.revert", "alice")
    events = [r for r in rows if r["detail"].get("fid") == fid]
    assert [(e["outcome"], e["version"]) for e in events] == [("ok", made["version"])]
    assert events[0]["detail"]["reverted_to"] == original


def test_a_revert_needs_a_precondition_that_holds(
    history: tuple[TestClient, dict[str, int]], sample_url: str
) -> None:
    client, _ = history
    url = _made(client, "guarded")
    original = layer_version(sample_url, RESTRICTED)
    stale = _etag(client, url)
    _renamed(client, url, "changed")
    missing = _revert(client, url, original)
    assert missing.status_code == 428
    assert "If-Match" in missing.json()["detail"]
    failed = _revert(client, url, original, **{"If-Match": stale})
    assert failed.status_code == 412
    assert failed.headers["ETag"] == _base(_etag(client, url))
    assert client.get(url, headers=ALICE).json()["properties"]["name"] == "changed"


def test_a_deleted_feature_comes_back_with_its_id(
    history: tuple[TestClient, dict[str, int]], sample_url: str
) -> None:
    client, _ = history
    url = _made(client, "deleted then restored")
    original = layer_version(sample_url, RESTRICTED)
    removed = client.delete(url, headers=ALICE | {"If-Match": _etag(client, url)})
    assert removed.status_code == 204
    gone = client.get(f"{url}/versions", headers=ALICE).json()["features"][0]["revision"]
    validator = f'"{RESTRICTED}.{url.rsplit("/", 1)[1]}.{gone["version"]}"'
    assert _revert(client, url, original).status_code == 428
    answer = _revert(client, url, original, **{"If-Match": validator})
    assert answer.status_code == 200, answer.text
    back = client.get(url, headers=ALICE)
    assert back.status_code == 200
    assert back.json()["properties"]["name"] == "deleted then restored"


def test_reverting_to_before_the_feature_existed_deletes_it(
    history: tuple[TestClient, dict[str, int]], sample_url: str
) -> None:
    client, _ = history
    before = layer_version(sample_url, RESTRICTED)
    url = _made(client, "never meant")
    answer = _revert(client, url, before, **{"If-Match": _etag(client, url)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["exists"] is False
    assert client.get(url, headers=ALICE).status_code == 404
    again = _revert(client, url, before, **{"If-Match": "*"})
    assert again.status_code == 409  # nothing left to revert


def test_an_older_ingest_version_can_be_brought_back(
    history: tuple[TestClient, dict[str, int]], sample_url: str
) -> None:
    """Reverting to version 1 reads table v1 and writes the current table (v2)."""
    client, fids = history
    url = f"{ITEMS}/{fids['shenzhen']}"
    with psycopg.connect(sample_url) as conn:  # leave the ingested point as it was made
        kept = conn.execute(
            "SELECT name FROM onemap_data.hist_restricted_v2 WHERE fid = %s", (fids["shenzhen"],)
        ).fetchone()
    assert kept is not None
    answer = _revert(client, url, 1, **{"If-Match": _etag(client, url)})
    assert answer.status_code == 200, answer.text
    assert client.get(url, headers=ALICE).json()["properties"]["name"] == "shenzhen v1"
    back = _revert(client, url, 2, **{"If-Match": _etag(client, url)})
    assert back.status_code == 200, back.text
    assert client.get(url, headers=ALICE).json()["properties"]["name"] == kept[0]


@pytest.mark.parametrize(("who", "status"), [("bob", 404), ("both", 200)])
def test_only_the_owning_departments_publishers_revert(
    history: tuple[TestClient, dict[str, int]], sample_url: str, who: str, status: int
) -> None:
    client, _ = history
    url = _made(client, f"reverted by {who}")
    original = layer_version(sample_url, RESTRICTED)
    _renamed(client, url, "changed")
    headers = as_(who) | {"If-Match": _etag(client, url)}
    answer = client.post(f"{url}/versions/{original}/revert", headers=headers)
    assert answer.status_code == status, answer.text


def test_a_member_who_sees_the_layer_may_not_revert(
    history: tuple[TestClient, dict[str, int]], sample_url: str
) -> None:
    client, _ = history
    url = _made(client, "kept")
    headers = as_caller("member") | {"If-Match": "*"}
    answer = client.post(f"{url}/versions/1/revert", headers=headers)
    assert answer.status_code == 403, answer.text
    assert "publishers" in answer.json()["detail"]


def test_a_layer_not_open_for_editing_cannot_revert(
    history: tuple[TestClient, dict[str, int]],
) -> None:
    client, _ = history
    first = client.get(f"/collections/{CLOSED}/items?limit=1").json()["features"][0]["id"]
    answer = client.post(
        f"/collections/{CLOSED}/items/{first}/versions/1/revert",
        headers=ALICE | {"If-Match": "*"},
    )
    assert answer.status_code == 405
    bad = client.post(f"{ITEMS}/1/versions/zero/revert", headers=ALICE | {"If-Match": "*"})
    assert bad.status_code in (400, 422)


def test_a_version_uri_is_read_only(
    history: tuple[TestClient, dict[str, int]], sample_url: str
) -> None:
    client, _ = history
    url = _made(client, "versioned")
    version = layer_version(sample_url, RESTRICTED)
    headers = ALICE | GEOJSON | {"If-Match": _etag(client, url)}
    put = client.put(f"{url}?version={version}", json=point("overwritten"), headers=headers)
    assert put.status_code == 405, put.text
    assert "GET" in put.headers["Allow"] and "feature's own URI" in put.json()["detail"]
    deleted = client.delete(f"{url}?datetime=2026-12-01T00:00:00Z", headers=headers)
    assert deleted.status_code == 405
    assert client.get(url, headers=ALICE).json()["properties"]["name"] == "versioned"
