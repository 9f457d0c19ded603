"""The gate on a feature's history: hidden layers are unknown, area-limited callers see only
revisions inside their areas, internal fields stay hidden, restricted reads are counted."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.access.identify_fixtures import flush, restricted_reads
from tests.access.ownership_fixtures import as_
from tests.edit.history_fixtures import PUBLIC, RESTRICTED, as_caller, open_history_layers

ITEMS = f"/collections/{RESTRICTED}/items"


@pytest.fixture(scope="module")
def history(editing: TestClient, sample_url: str) -> tuple[TestClient, dict[str, int]]:
    return editing, open_history_layers(editing, sample_url)


def _paths(fid: int) -> list[str]:
    return [f"{ITEMS}/{fid}?version=1", f"{ITEMS}/{fid}/versions"]


@pytest.mark.parametrize("who", [{}, as_("bea"), as_("bob")])
def test_a_hidden_layers_history_is_the_unknown_ids_404(
    history: tuple[TestClient, dict[str, int]], who: dict[str, str]
) -> None:
    client, fids = history
    for path in _paths(fids["tianhe"]):
        hidden = client.get(path, headers=who)
        unknown = client.get(path.replace(RESTRICTED, "no-such-layer"), headers=who)
        assert hidden.status_code == unknown.status_code == 404, path
        assert hidden.json()["detail"] == unknown.json()["detail"].replace(
            "no-such-layer", RESTRICTED
        )
    revert = client.post(f"{ITEMS}/{fids['tianhe']}/versions/1/revert", headers=who)
    assert revert.status_code == 404


def test_an_area_limited_caller_sees_only_the_history_inside_their_area(
    history: tuple[TestClient, dict[str, int]],
) -> None:
    client, fids = history
    county = as_caller("county")
    for path in _paths(fids["tianhe"]):
        assert client.get(path, headers=county).status_code == 200, path
    for path in _paths(fids["shenzhen"]):
        assert client.get(path, headers=county).status_code == 404, path
        assert client.get(path, headers=as_caller("member")).status_code == 200, path


def test_a_revision_outside_the_area_is_not_listed(
    history: tuple[TestClient, dict[str, int]],
) -> None:
    """A point moved from Tianhe to Shenzhen: the county member knows its Tianhe past only."""
    client, _ = history
    alice = as_("alice") | {"Content-Type": "application/geo+json"}
    made = client.post(ITEMS, json=_point("moving", 113.36, 23.14), headers=alice)
    assert made.status_code == 201, made.text
    url = made.headers["Location"]
    etag = client.get(url, headers=as_("alice")).headers["ETag"]
    moved = client.put(
        url, json=_point("moving", 114.06, 22.54), headers=alice | {"If-Match": etag}
    )
    assert moved.status_code == 204, moved.text
    county = client.get(f"{url}/versions", headers=as_caller("county")).json()
    assert [f["revision"]["operation"] for f in county["features"]] == ["create"]
    member = client.get(f"{url}/versions", headers=as_caller("member")).json()
    assert [f["revision"]["operation"] for f in member["features"]] == ["replace", "create"]
    moved_version = member["features"][0]["revision"]["version"]
    outside = client.get(url, params={"version": moved_version}, headers=as_caller("county"))
    assert outside.status_code in (404, 410)
    assert "moving" not in outside.text and "114.06" not in outside.text


def _point(name: str, x: float, y: float) -> dict[str, object]:
    geometry = {"type": "Point", "coordinates": [x, y]}
    return {"type": "Feature", "geometry": geometry, "properties": {"name": name}}


def test_internal_fields_stay_hidden_in_every_version(
    history: tuple[TestClient, dict[str, int]],
) -> None:
    client, fids = history
    url = f"/collections/{PUBLIC}/items/{fids['public']}"
    anonymous = client.get(url, params={"version": 1})
    listing = client.get(f"{url}/versions")
    publisher = client.get(url, params={"version": 1}, headers=as_("alice"))
    assert anonymous.status_code == listing.status_code == publisher.status_code == 200
    assert "secret" not in anonymous.json()["properties"]
    assert all("secret" not in f["properties"] for f in listing.json()["features"])
    assert "secret of" not in anonymous.text + listing.text
    assert publisher.json()["properties"]["secret"] == "secret of public v1"


def test_history_reads_of_a_restricted_layer_count_in_the_audit(
    history: tuple[TestClient, dict[str, int]], sample_url: str
) -> None:
    client, fids = history
    flush(client)
    before = restricted_reads(sample_url, "hm", RESTRICTED)
    for path in _paths(fids["tianhe"]):
        assert client.get(path, headers=as_caller("member")).status_code == 200
    flush(client)
    assert restricted_reads(sample_url, "hm", RESTRICTED) == before + 2
