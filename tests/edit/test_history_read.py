"""Reading a feature as it was: ``?version=N``, ``?datetime=<instant>``, the version links of
the Versioned Features proposal, and the history listing (ADR 0013, decision 11)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.access.ownership_fixtures import as_
from tests.edit.history_fixtures import (
    INGESTED,
    PUBLIC,
    RESTRICTED,
    layer_version,
    open_history_layers,
    point,
)

ALICE = as_("alice")
ITEMS = f"/collections/{RESTRICTED}/items"


@pytest.fixture(scope="module")
def history(editing: TestClient, sample_url: str) -> tuple[TestClient, dict[str, int]]:
    return editing, open_history_layers(editing, sample_url)


def _links(document: dict[str, Any]) -> dict[str, str]:
    return {item["rel"]: item["href"] for item in document["links"]}


def _edit(client: TestClient, method: str, url: str, **kwargs: Any) -> Any:
    etag = client.get(url, headers=ALICE).headers["ETag"]
    headers = ALICE | {"If-Match": etag, "Content-Type": "application/geo+json"}
    if method == "PATCH":
        headers["Content-Type"] = "application/merge-patch+json"
    answer = client.request(method, url, headers=headers, **kwargs)
    assert answer.status_code in (200, 204), answer.text
    return answer


def _lifecycle(client: TestClient, url: str) -> dict[str, int]:
    """A feature created, renamed, deleted; the layer version after each step."""
    created = client.post(
        ITEMS, json=point("made"), headers=ALICE | {"Content-Type": "application/geo+json"}
    )
    assert created.status_code == 201, created.text
    feature_url = created.headers["Location"]
    versions = {"url": 0, "created": layer_version(url, RESTRICTED)}
    _edit(client, "PATCH", feature_url, json={"properties": {"name": "renamed"}})
    versions["renamed"] = layer_version(url, RESTRICTED)
    _edit(client, "DELETE", feature_url)
    versions["deleted"] = layer_version(url, RESTRICTED)
    versions["fid"] = int(feature_url.rsplit("/", 1)[1])
    return versions


def test_each_version_of_an_edited_feature_reads_as_it_was(
    history: tuple[TestClient, dict[str, int]], sample_url: str
) -> None:
    client, _ = history
    steps = _lifecycle(client, sample_url)
    url = f"{ITEMS}/{steps['fid']}"
    before = client.get(url, params={"version": steps["created"] - 1}, headers=ALICE)
    assert before.status_code == 404  # not yet created: it did not exist then
    made = client.get(url, params={"version": steps["created"]}, headers=ALICE)
    assert made.status_code == 200, made.text
    assert made.json()["properties"]["name"] == "made"
    assert made.json()["geometry"]["coordinates"] == pytest.approx([113.37, 23.15])
    renamed = client.get(url, params={"version": steps["renamed"]}, headers=ALICE)
    assert renamed.json()["properties"] == {"name": "renamed", "secret": "secret of made"}
    gone = client.get(url, params={"version": steps["deleted"]}, headers=ALICE)
    assert gone.status_code == 410, gone.text
    assert 'rel="version-history"' in gone.headers["Link"]
    assert f'{url}?version={steps["renamed"]}>; rel="latest-version"' in gone.headers["Link"]
    assert client.get(url, headers=ALICE).status_code == 404  # deleted: now it is unknown


def test_a_version_carries_memento_links_and_validators(
    history: tuple[TestClient, dict[str, int]], sample_url: str
) -> None:
    client, _ = history
    steps = _lifecycle(client, sample_url)
    url = f"{ITEMS}/{steps['fid']}"
    later = steps["renamed"] + 0  # asking a version between revisions gives the older one
    made = client.get(url, params={"version": steps["created"]}, headers=ALICE)
    links = _links(made.json())
    assert links["canonical"].endswith(f"{url}?version={steps['created']}")
    assert links["original"].endswith(url)
    assert links["version-history"].endswith(f"{url}/versions")
    assert links["successor-version"].endswith(f"?version={later}")
    assert "predecessor-version" not in links
    assert 'rel="canonical"' in made.headers["Link"]
    assert made.headers["ETag"].startswith(f'"{RESTRICTED}.{steps["fid"]}.{steps["created"]}.')
    moment = parsedate_to_datetime(made.headers["Memento-Datetime"])
    assert moment == parsedate_to_datetime(made.headers["Last-Modified"])
    again = client.get(
        url,
        params={"version": steps["created"]},
        headers=ALICE | {"If-None-Match": made.headers["ETag"]},
    )
    assert again.status_code == 304
    renamed = client.get(url, params={"version": steps["renamed"]}, headers=ALICE)
    assert _links(renamed.json())["predecessor-version"].endswith(f"?version={steps['created']}")


def test_an_ingest_version_in_an_older_table_reads_from_that_table(
    history: tuple[TestClient, dict[str, int]],
) -> None:
    client, fids = history
    url = f"{ITEMS}/{fids['tianhe']}"
    first = client.get(url, params={"version": 1}, headers=ALICE)
    assert first.status_code == 200, first.text
    assert first.json()["properties"]["name"] == "tianhe v1"
    second = client.get(url, params={"version": 2}, headers=ALICE)
    assert second.json()["properties"]["name"] == "tianhe v2"
    assert _links(second.json())["predecessor-version"].endswith(f"{url}?version=1")
    assert client.get(url, headers=ALICE).json()["properties"]["name"] == "tianhe v2"


def test_datetime_names_the_version_current_then(
    history: tuple[TestClient, dict[str, int]],
) -> None:
    client, fids = history
    url = f"{ITEMS}/{fids['shenzhen']}"
    in_january = client.get(url, params={"datetime": "2026-01-15T00:00:00Z"}, headers=ALICE)
    assert in_january.status_code == 200, in_january.text
    assert in_january.json()["properties"]["name"] == "shenzhen v1"
    moment = parsedate_to_datetime(in_january.headers["Memento-Datetime"])
    assert moment == INGESTED[0]
    at_second = client.get(url, params={"datetime": "2026-02-01T08:00:00+08:00"}, headers=ALICE)
    assert at_second.json()["properties"]["name"] == "shenzhen v2"  # the transition instant
    before = client.get(url, params={"datetime": "2025-12-31T00:00:00Z"}, headers=ALICE)
    assert before.status_code == 404


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"version": "abc"}, "version"),
        ({"version": "0"}, "version"),
        ({"datetime": "2026-01-15T00:00:00"}, "offset"),
        ({"datetime": "2026-01-01T00:00:00Z/.."}, "instant"),
        ({"version": "1", "datetime": "2026-01-15T00:00:00Z"}, "not both"),
        ({"version": "1", "colour": "red"}, "colour"),
    ],
)
def test_bad_version_requests_are_400s_that_say_why(
    history: tuple[TestClient, dict[str, int]], params: dict[str, str], word: str
) -> None:
    client, fids = history
    answer = client.get(f"{ITEMS}/{fids['tianhe']}", params=params, headers=ALICE)
    assert answer.status_code == 400, answer.text
    assert word in answer.json()["detail"]


@pytest.mark.parametrize(
    ("params", "word"),
    [({"before": "abc"}, "before"), ({"limit": "-1"}, "limit"), ({"colour": "red"}, "colour")],
)
def test_bad_history_requests_are_400s_that_say_why(
    history: tuple[TestClient, dict[str, int]], params: dict[str, str], word: str
) -> None:
    client, fids = history
    answer = client.get(f"{ITEMS}/{fids['tianhe']}/versions", params=params, headers=ALICE)
    assert answer.status_code == 400, answer.text
    assert word in answer.json()["detail"]


def test_a_version_the_layer_never_had_is_a_404(
    history: tuple[TestClient, dict[str, int]],
) -> None:
    client, fids = history
    answer = client.get(f"{ITEMS}/{fids['tianhe']}", params={"version": 99999}, headers=ALICE)
    assert answer.status_code == 404
    assert "no version 99999" in answer.json()["detail"]


def test_the_history_lists_every_revision_newest_first_paged(
    history: tuple[TestClient, dict[str, int]], sample_url: str
) -> None:
    client, _ = history
    steps = _lifecycle(client, sample_url)
    url = f"{ITEMS}/{steps['fid']}"
    listing = client.get(f"{url}/versions", headers=ALICE)
    assert listing.status_code == 200, listing.text
    assert listing.headers["Content-Type"] == "application/geo+json"
    body = listing.json()
    assert body["type"] == "FeatureCollection" and body["numberMatched"] == 3
    revisions = [f["revision"] for f in body["features"]]
    assert [r["operation"] for r in revisions] == ["delete", "update", "create"]
    assert [r["version"] for r in revisions] == [
        steps["deleted"],
        steps["renamed"],
        steps["created"],
    ]
    assert {r["actor"]["subject"] for r in revisions} == {"alice"}
    deleted, renamed, made = body["features"]
    assert deleted["geometry"] is None and deleted["properties"] is None
    assert renamed["properties"]["name"] == "renamed" and made["properties"]["name"] == "made"
    assert _links(renamed)["memento"].endswith(f"{url}?version={steps['renamed']}")
    crs = "http://www.opengis.net/def/crs/EPSG/0/4490"
    first = client.get(f"{url}/versions", params={"limit": 2, "crs": crs}, headers=ALICE).json()
    assert first["numberReturned"] == 2
    following = urlsplit(_links(first)["next"])
    assert "crs=http%3A%2F%2Fwww.opengis.net" in following.query  # percent-encoded
    wanted = {"limit": ["2"], "crs": [crs], "before": [str(steps["renamed"])]}
    assert parse_qs(following.query) == wanted
    second = client.get(_links(first)["next"], headers=ALICE).json()
    assert [f["revision"]["operation"] for f in second["features"]] == ["create"]
    assert "next" not in _links(second)


def test_a_feature_links_its_history_and_ingests_are_revisions(
    history: tuple[TestClient, dict[str, int]],
) -> None:
    client, fids = history
    url = f"{ITEMS}/{fids['tianhe']}"
    now = client.get(url, headers=ALICE).json()
    assert _links(now)["version-history"].endswith(f"{url}/versions")
    listing = client.get(_links(now)["version-history"], headers=ALICE).json()
    assert [f["revision"]["operation"] for f in listing["features"]] == ["ingest", "ingest"]
    assert [f["properties"]["name"] for f in listing["features"]] == ["tianhe v2", "tianhe v1"]


def test_a_feature_that_never_existed_has_no_history(
    history: tuple[TestClient, dict[str, int]],
) -> None:
    client, _ = history
    assert client.get(f"{ITEMS}/987654321/versions", headers=ALICE).status_code == 404
    assert client.get(f"{ITEMS}/987654321?version=1", headers=ALICE).status_code == 404
    assert client.get(f"/collections/{PUBLIC}/items/x/versions").status_code == 404


def test_an_editable_collection_declares_its_versioning(
    history: tuple[TestClient, dict[str, int]],
) -> None:
    client, _ = history
    declared = client.get(f"/collections/{PUBLIC}").json()
    assert declared["versioning"] == {"timeAxis": "transaction-time", "mutationTime": "server"}
    assert declared["onemap:layer"]["editable"] is True
    assert "versioning" not in client.get("/collections/gd-counties").json()


def test_openapi_documents_the_history_paths(history: tuple[TestClient, dict[str, int]]) -> None:
    client, _ = history
    documented = client.get("/api").json()["paths"]
    assert "/collections/{collectionId}/items/{featureId}/versions" in documented
    revert = "/collections/{collectionId}/items/{featureId}/versions/{version}/revert"
    assert "post" in documented[revert]
    feature = documented["/collections/{collectionId}/items/{featureId}"]["get"]
    assert {"version", "datetime"} <= {p.get("name") for p in feature["parameters"]}
