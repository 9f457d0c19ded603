"""Plans per catalog snapshot: a new layer version gets a new plan, the snapshot holding
them is replaced (never mutated), and a plan's caches stay within their bounds."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from layers.crs import DEFAULT as DEFAULT_CRS
from layers.features import Binder, ItemsQuery, SortKey
from layers.features.plan import COUNTS, FEATURE_SHAPES, PAGE_FRAMES, FeaturePlan
from layers.lru import BoundedCache
from ogc.plans import Snapshot
from ogc.state import AppState
from tests.helpers.catalog import fields_from_json, fixture_meta, register_table
from tests.helpers.wait import wait_for, wait_for_layer

LAYER = "feat-plans"
META = fixture_meta(LAYER, "计划", "Plans")
NAME = {"name": "name", "type": "string", "source_name": "name", "title": "名称"}
COLOUR = {"name": "colour", "type": "string", "source_name": "colour", "title": "颜色"}
CREATE = """
CREATE TABLE onemap_data.{table} (
    fid bigint PRIMARY KEY DEFAULT nextval('onemap.feature_id_seq'),
    name text, {extra} geom geometry(Point, 4490));
INSERT INTO onemap_data.{table} (name, {extra_names} geom)
SELECT 'p' || n, {extra_values} ST_SetSRID(ST_MakePoint(113 + n * 0.1, 23), 4490)
FROM generate_series(1, 3) AS n;
"""


def state_of(client: TestClient) -> AppState:
    state: AppState = client.app.state.onemap  # type: ignore[attr-defined]
    return state


def snapshot_of(client: TestClient) -> Snapshot:
    snapshot = state_of(client).snapshot
    assert snapshot is not None
    return snapshot


def publish(url: str, version: int, *, colour: bool) -> None:
    """``feat_plans_v{version}``, with a ``colour`` field or without, as the next version."""
    table = f"feat_plans_v{version}"
    statement = CREATE.format(
        table=table,
        extra="colour text," if colour else "",
        extra_names="colour," if colour else "",
        extra_values="CASE WHEN n = 2 THEN 'red' ELSE 'blue' END," if colour else "",
    )
    fields = [NAME, COLOUR] if colour else [NAME]
    with psycopg.connect(url) as conn:
        conn.execute(statement.encode())
        register_table(conn, META, table, fields_from_json(fields), "Point")


@pytest.fixture(scope="module")
def plans_layer(sample_url: str, client: TestClient) -> Iterator[str]:
    publish(sample_url, 1, colour=False)
    wait_for_layer(client, LAYER)
    yield LAYER
    with psycopg.connect(sample_url) as conn:  # leave no layer and no orphan table behind
        conn.execute("DELETE FROM onemap.layers WHERE id = %s", [LAYER])
        conn.execute("DROP TABLE IF EXISTS onemap_data.feat_plans_v1, onemap_data.feat_plans_v2")


def first_feature(client: TestClient) -> dict:  # type: ignore[type-arg]
    page = client.get(f"/collections/{LAYER}/items", params={"limit": 1}).json()
    fid = page["features"][0]["id"]
    response = client.get(f"/collections/{LAYER}/items/{fid}")  # the fast path answers
    assert response.status_code == 200
    return dict(response.json())


def test_a_new_version_gets_a_new_plan_in_a_new_snapshot(
    client: TestClient, sample_url: str, plans_layer: str
) -> None:
    old = snapshot_of(client)
    old_layer = old.catalog.get(LAYER)
    old_plan = old.plan(old_layer)
    assert old.plan(old_layer) is old_plan  # built once, then kept for the snapshot's life
    assert set(first_feature(client)["properties"]) == {"name"}
    assert "colour" not in client.get(f"/collections/{LAYER}/queryables").json()["properties"]
    assert client.get(f"/collections/{LAYER}/items", params={"colour": "red"}).status_code == 400

    publish(sample_url, 2, colour=True)  # no restart: the catalog arrives by NOTIFY
    wait_for(lambda: snapshot_of(client).catalog.get(LAYER).version == 2, "v2 never arrived")

    assert set(first_feature(client)["properties"]) == {"name", "colour"}
    queryables = client.get(f"/collections/{LAYER}/queryables").json()["properties"]
    assert queryables["colour"]["type"] == "string"
    red = client.get(f"/collections/{LAYER}/items", params={"colour": "red"}).json()
    assert [f["properties"]["colour"] for f in red["features"]] == ["red"]
    items_path = client.get("/api").json()["paths"][f"/collections/{LAYER}/items"]
    assert "colour" in [p.get("name") for p in items_path["get"]["parameters"]]

    new = snapshot_of(client)
    new_plan = new.plan(new.catalog.get(LAYER))
    assert new is not old and new_plan is not old_plan
    assert new_plan.features.layer.version == 2 and "colour" in new_plan.features.queryables


def test_the_snapshot_is_replaced_not_mutated(
    client: TestClient, sample_url: str, plans_layer: str
) -> None:
    old = snapshot_of(client)
    layer = old.catalog.get(LAYER)
    plan = old.plan(layer)
    layers_before = dict(old.catalog.layers)
    with psycopg.connect(sample_url, autocommit=True) as conn:
        conn.execute("SELECT pg_notify('onemap_catalog', %s)", [LAYER])
    wait_for(lambda: snapshot_of(client) is not old, "the catalog was never reloaded")

    new = snapshot_of(client)
    assert dict(old.catalog.layers) == layers_before  # the old snapshot is as it was
    assert old.catalog.get(LAYER) is layer and old.plan(layer) is plan
    store = state_of(client).store
    assert store is not None and new.catalog is store.current
    assert new.catalog.get(LAYER) is not layer  # a reload reads every layer anew
    with pytest.raises(ValueError, match="not from this catalog snapshot"):
        new.plan(layer)  # a plan never mixes one snapshot's layer with another's plans
    with pytest.raises(dataclasses.FrozenInstanceError):
        new.catalog = old.catalog  # type: ignore[misc]


def test_a_bounded_cache_drops_the_least_recently_used() -> None:
    cache: BoundedCache[int, str] = BoundedCache(3)
    for key in range(3):
        cache.put(key, str(key))
    assert cache.get(0) == "0"  # 0 is now the most recent
    cache.put(3, "3")
    assert len(cache) == 3 and cache.get(1) is None
    assert [cache.get(k) for k in (0, 2, 3)] == ["0", "2", "3"]
    assert cache.get_or_build(4, lambda: "four") == "four" and len(cache) == 3
    with pytest.raises(ValueError):
        BoundedCache(0)


def test_a_plans_caches_stay_within_their_bounds(
    client: TestClient, plans_layer: str, events_layer: str
) -> None:
    snapshot = snapshot_of(client)
    plan = snapshot.plan(snapshot.catalog.get(events_layer)).features
    fields = plan.layer.field_names
    base = ItemsQuery(limit=10, output_crs=DEFAULT_CRS)
    for limit in range(1, PAGE_FRAMES + 40):
        plan.geojson_page_sql(dataclasses.replace(base, limit=limit), Binder(literal=False))
    for detail in range(1, FEATURE_SHAPES + 40):
        plan.feature_sql(dataclasses.replace(base, map_detail=detail))
    assert len(plan.frames) == PAGE_FRAMES and len(plan.shapes) == FEATURE_SHAPES
    for i in range(COUNTS + 5):
        plan.counts.put(("selection", i), {"numberMatched": i})
    assert len(plan.counts) == COUNTS
    sorted_page = dataclasses.replace(base, sort=(SortKey(fields[0], descending=True),))
    text = plan.geojson_page_sql(sorted_page, Binder(literal=False)).as_string(None)
    assert "DESC NULLS FIRST" in text  # an evicted shape is simply rendered again
    assert plan.feature_sql(ItemsQuery(limit=1, output_crs=DEFAULT_CRS)) is plan.single_feature


def test_a_filtered_count_is_kept_in_the_layers_plan(client: TestClient, events_layer: str) -> None:
    params = {"limit": "2", "adcode": "440106"}  # Tianhe's six: more than a page, so counted
    first = client.get(f"/collections/{events_layer}/items", params=params).json()
    assert first["numberMatched"] == 6
    snapshot = snapshot_of(client)
    plan = snapshot.plan(snapshot.catalog.get(events_layer)).features
    kept = len(plan.counts)
    assert kept >= 1
    again = client.get(f"/collections/{events_layer}/items", params=params).json()
    assert again["numberMatched"] == 6 and len(plan.counts) == kept


def test_a_plan_is_a_pure_function_of_its_layer(client: TestClient, events_layer: str) -> None:
    layer = snapshot_of(client).catalog.get(events_layer)
    one, two = FeaturePlan.of(layer), FeaturePlan.of(layer)
    assert one.single_feature_text == two.single_feature_text is not None
    assert dict(one.queryables) == dict(two.queryables)
    assert one.last_modified == two.last_modified
