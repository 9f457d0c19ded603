"""A statement timeout is a clear 503, for a page of items and a single feature alike.

The features table is locked by another transaction, so every read of it waits until the
apps' short statement timeout cancels it. The single feature is asked of the app with its
fast path and of one without: both answers must be the same 503.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

import ogc.app
from layers.settings import ServiceSettings
from ogc.routers.feature_fastpath import FeatureFastPath
from tests.helpers.headers import comparable

TIMEOUT_MS = 300
EVENTS_TABLE = "onemap_data.feat_events_v1"


@pytest.fixture(scope="module")
def impatient(settings: ServiceSettings, events_layer: str) -> Iterator[tuple[TestClient, ...]]:
    """Two apps with a short statement timeout: with the fast layer, and without it."""
    short = settings.model_copy(update={"statement_timeout_ms": TIMEOUT_MS})
    with (
        TestClient(ogc.app.create_app(short)) as fast,
        TestClient(ogc.app.create_app(short, fast_layer=False)) as route,
    ):
        yield fast, route


@pytest.fixture
def locked(sample_url: str) -> Iterator[None]:
    """The events table held by another transaction until the test ends."""
    with psycopg.connect(sample_url) as conn:
        conn.execute(f"LOCK TABLE {EVENTS_TABLE} IN ACCESS EXCLUSIVE MODE")
        yield
        conn.rollback()


def fast_path(client: TestClient) -> FeatureFastPath:
    layer: Any = client.app.fast_layer  # type: ignore[attr-defined]
    while not isinstance(layer, FeatureFastPath):
        layer = layer.app
    return layer


def assert_timed_out(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "statement timeout" in response.json()["detail"]


def test_a_single_feature_that_times_out_is_the_same_503_on_both_paths(
    impatient: tuple[TestClient, TestClient], events_layer: str, locked: None
) -> None:
    fast, route = impatient
    url = f"/collections/{events_layer}/items/1"  # any id: the read never gets that far
    served = fast_path(fast).served
    ours, theirs = fast.get(url), route.get(url)
    assert fast_path(fast).served == served + 1  # the fast path answered, not the route
    assert_timed_out(ours)
    assert comparable(ours) == comparable(theirs)
    assert ours.content == theirs.content


@pytest.mark.parametrize(
    "params",
    [{"limit": "5"}, {"limit": "500"}, {"limit": "5", "f": "csv"}, {"f": "jsonseq"}],
    ids=["one chunk", "streamed", "csv", "geojson-seq"],
)
def test_a_page_of_items_that_times_out_is_a_503(
    impatient: tuple[TestClient, TestClient],
    events_layer: str,
    locked: None,
    params: dict[str, str],
) -> None:
    fast, _ = impatient
    assert_timed_out(fast.get(f"/collections/{events_layer}/items", params=params))


def test_the_same_app_answers_again_once_the_lock_is_gone(
    impatient: tuple[TestClient, TestClient], events_layer: str
) -> None:
    fast, _ = impatient
    page = fast.get(f"/collections/{events_layer}/items", params={"limit": "1"})
    assert page.status_code == 200
    fid = page.json()["features"][0]["id"]
    assert fast.get(f"/collections/{events_layer}/items/{fid}").status_code == 200
