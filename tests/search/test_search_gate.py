"""``/search`` through the gate: only layers the caller may see, an internal search field
only from the internal level, area-limited callers only inside their areas, restricted
hits counted for the audit, a hidden layer named in ``layers=`` the unknown id's 404, and
API keys (``tk=``) seeing what their roles allow, with their key kept in every link and
their ``features`` quota counting searches."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.access.fields_areas_helpers import as_caller, callers, names_inside_tianhe
from tests.access.identify_fixtures import (
    flush,
    id_client,
    id_idp,
    id_settings,
    new_key,
    restricted_reads,
    signing_key,
)
from tests.gate_fixtures import FIELDS, INTERNAL, PUBLIC, RESTRICTED, TABLE, gate_client
from tests.helpers.catalog import fixture_meta, register_table
from tests.helpers.wait import wait_for

__all__ = ["callers", "gate_client", "id_client", "id_idp", "id_settings", "signing_key"]
SECRET = "search-secret"  # public, searched by its internal field
GATE = (INTERNAL, RESTRICTED, PUBLIC, SECRET)
ANONYMOUS: dict[str, str] = {}
GOVERNMENT, MEMBER = as_caller("government"), as_caller("member")
COUNTY, ELSEWHERE = as_caller("county"), as_caller("elsewhere")


@pytest.fixture
def searched(callers: TestClient, sample_url: str) -> TestClient:
    """The gate's layers plus one whose search field is internal."""
    if callers.get(f"/collections/{SECRET}").status_code != 200:
        with psycopg.connect(sample_url) as conn:
            metadata = {"search_field": "secret", "internal_fields": ["secret"]}
            meta = fixture_meta(SECRET, "密", "Secret", metadata=metadata)
            register_table(conn, meta, TABLE, FIELDS, "Point")
    wait_for(lambda: callers.get(f"/collections/{SECRET}").status_code == 200, "no secret layer")
    return callers


def hits(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, set[str]]:
    """Collection id -> the names found there (gate layers only)."""
    answer = client.get("/search", params={"limit": 50, **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, set[str]] = {}
    for feature in answer.json()["features"]:
        props = feature["properties"]
        if props["collection"] in GATE:
            found.setdefault(props["collection"], set()).add(props["name"])
    return found


ALL_POINTS = {f"点{n}" for n in range(1, 13)}


def test_each_caller_searches_the_layers_they_may_see(searched: TestClient) -> None:
    assert hits(searched, ANONYMOUS, q="点") == {PUBLIC: ALL_POINTS}
    assert hits(searched, GOVERNMENT, q="点") == {PUBLIC: ALL_POINTS, INTERNAL: ALL_POINTS}
    member = hits(searched, MEMBER, q="点")
    assert member == {PUBLIC: ALL_POINTS, INTERNAL: ALL_POINTS, RESTRICTED: ALL_POINTS}


def test_an_internal_search_field_is_searched_from_the_internal_level(
    searched: TestClient,
) -> None:
    assert hits(searched, ANONYMOUS, q="机密1") == {}
    answer = searched.get("/search", params={"q": "机密1", "layers": SECRET}, headers=GOVERNMENT)
    found = [f["properties"]["name"] for f in answer.json()["features"]]
    assert found[:4] == ["机密1", "机密10", "机密11", "机密12"]  # then similar ones (机密2…)
    refused = searched.get("/search", params={"q": "机密1", "layers": SECRET})
    assert refused.status_code == 400 and "layers" in refused.json()["detail"]
    assert "secret" not in refused.json()["detail"].replace(SECRET, "")


def test_area_limited_callers_find_only_inside_their_areas(
    searched: TestClient, sample_url: str
) -> None:
    inside = names_inside_tianhe(searched, sample_url)
    assert inside and inside < ALL_POINTS
    clipped = {PUBLIC: ALL_POINTS, INTERNAL: inside, RESTRICTED: inside}
    assert hits(searched, COUNTY, q="点") == clipped
    assert hits(searched, ELSEWHERE, q="点") == {PUBLIC: ALL_POINTS}


def test_a_hidden_layer_in_layers_is_the_unknown_ids_404(searched: TestClient) -> None:
    hidden = searched.get("/search", params={"q": "点", "layers": RESTRICTED})
    unknown = searched.get("/search", params={"q": "点", "layers": "no-such"})
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["detail"] == unknown.json()["detail"].replace("no-such", RESTRICTED)
    assert (
        searched.get(
            "/search", params={"q": "点", "layers": RESTRICTED}, headers=MEMBER
        ).status_code
        == 200
    )


def test_restricted_hits_are_counted_as_reads(searched: TestClient, sample_url: str) -> None:
    flush(searched)
    before = restricted_reads(sample_url, "m", RESTRICTED)
    assert RESTRICTED in hits(searched, MEMBER, q="点1")
    assert hits(searched, MEMBER, q="无此地名") == {}
    flush(searched)
    assert restricted_reads(sample_url, "m", RESTRICTED) == before + 1


def test_a_key_searches_what_its_roles_allow_and_keeps_its_key(
    id_client: TestClient, sample_url: str
) -> None:
    _, secret = new_key(sample_url, roles=("government",))
    assert INTERNAL not in hits(id_client, ANONYMOUS, q="点")
    answer = id_client.get("/search", params={"q": "点", "limit": 50, "tk": secret})
    assert answer.status_code == 200 and answer.headers["cache-control"].startswith("private")
    body = answer.json()
    assert INTERNAL in {f["properties"]["collection"] for f in body["features"]}
    hrefs = [f["properties"]["href"] for f in body["features"]] + [body["links"][0]["href"]]
    assert all(href.count(f"tk={secret}") == 1 for href in hrefs)


def test_searches_count_against_the_features_quota(id_client: TestClient, sample_url: str) -> None:
    _, secret = new_key(sample_url, quotas={"features": 0})
    refused = id_client.get("/search", params={"q": "点", "tk": secret})
    assert refused.status_code == 403, refused.text
