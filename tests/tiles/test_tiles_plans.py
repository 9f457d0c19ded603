"""Tile plans per catalog snapshot: a new layer version gets a new plan (its fields and style
serve at once, no restart); overviews are built when a version is published, never by a
tile request; a tile query cut by the statement timeout is a clear 503."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from shapely import points

from ingest.pipeline import LayerMeta, ingest_file
from layers.settings import ServiceSettings
from ogc.app import create_app
from ogc.state import AppState
from tests.helpers.wait import wait_for, wait_for_layer
from tests.tiles.helpers import decode, tile_at
from tiles import mvt, overview
from tiles.plan import StatementKey, TilePlan

PLAN_LAYER = "tiles-plan-points"
OVERVIEW_LAYER = "tiles-overview-points"
OVERVIEW_COUNT = 3000
OVERVIEW_MIN = 2500  # MIN_FEATURES while a test wants overviews of small layers


def state_of(client: TestClient) -> AppState:
    state: AppState = client.app.state.onemap  # type: ignore[attr-defined]
    return state


def publish_points(
    url: str, folder: Path, layer_id: str, count: int, *, extra: bool = False, fill: str = ""
) -> None:
    """``count`` points around Guangzhou as the next version of ``layer_id`` (real ingest);
    ``extra`` adds a ``kind`` attribute, ``fill`` a style."""
    rng = np.random.default_rng(count)
    columns: dict[str, Any] = {"name": [f"点{i}" for i in range(count)]}
    if extra:
        columns["kind"] = ["a"] * count
    frame = gpd.GeoDataFrame(
        columns,
        geometry=points(
            np.column_stack([rng.uniform(113.0, 113.6, count), rng.uniform(22.8, 23.4, count)])
        ),
        crs="EPSG:4490",
    )
    path = folder / f"{layer_id}-{time.monotonic_ns()}.gpkg"
    frame.to_file(path, driver="GPKG")
    metadata = {"style": {"fill": fill}} if fill else {}
    meta = LayerMeta(
        id=layer_id,
        title_zh="点",
        title_en="Points",
        level="province",
        adcode="440000",
        metadata=metadata,
    )
    ingest_file(url, path, meta)


def current_plan(client: TestClient, layer_id: str) -> TilePlan:
    plans = state_of(client).snapshot
    assert plans is not None
    return plans.layers[layer_id].tiles


def test_a_new_version_gets_a_new_plan_without_a_restart(
    tiles_client: TestClient, sample_url: str, tmp_path: Path
) -> None:
    publish_points(sample_url, tmp_path, PLAN_LAYER, 500, fill="#ff0000")
    wait_for_layer(tiles_client, PLAN_LAYER)
    first = current_plan(tiles_client, PLAN_LAYER)
    counties = state_of(tiles_client).snapshot.layers["gd-counties"].tiles  # type: ignore[union-attr]
    assert StatementKey("mercator", "mvt", first.layer.field_names) in first.statements
    row, col = tile_at("WebMercatorQuad", 10, 113.3, 23.1)
    tile = f"/collections/{PLAN_LAYER}/tiles/WebMercatorQuad/10/{row}/{col}"
    map_tile = tile.replace("/tiles/", "/map/tiles/")
    style = f"/collections/{PLAN_LAYER}/style.json"
    before = {path: tiles_client.get(path) for path in (tile, map_tile, style)}
    assert [r.status_code for r in before.values()] == [200, 200, 200]
    assert set(decode(before[tile].content)[PLAN_LAYER]["features"][0]["properties"]) == {"name"}

    publish_points(sample_url, tmp_path, PLAN_LAYER, 500, extra=True, fill="#0000ff")
    second = wait_for(
        lambda: (
            (p := current_plan(tiles_client, PLAN_LAYER)).layer.version > first.layer.version and p
        ),
        "the new version's plan never came",
    )
    assert second is not first and second.style.fill == "#0000ff"
    kept = state_of(tiles_client).snapshot.layers["gd-counties"].tiles  # type: ignore[union-attr]
    assert kept.statements is counties.statements  # an unchanged layer: nothing recomposed
    after = {path: tiles_client.get(path) for path in (tile, map_tile, style)}
    properties = decode(after[tile].content)[PLAN_LAYER]["features"][0]["properties"]
    assert set(properties) == {"name", "kind"}
    assert after[map_tile].headers["etag"] != before[map_tile].headers["etag"]
    circle = after[style].json()["layers"][0]["paint"]["circle-color"]
    assert (
        circle == "#0000ff"
        and before[style].json()["layers"][0]["paint"]["circle-color"] == "#ff0000"
    )


def test_plan_holders_are_replaced_and_variants_bounded(tiles_client: TestClient) -> None:
    state = state_of(tiles_client)
    plan = current_plan(tiles_client, "gd-counties")
    names = plan.layer.field_names
    for size in range(1, len(names) + 1):
        for start in range(len(names)):
            subset = tuple(names[start : start + size])
            plan.statement(mvt.MERCATOR, "mvt", subset)
    assert 0 < len(plan.variants) <= plan.variants.limit
    held = state.snapshot
    with psycopg.connect(state.database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_notify('onemap_catalog', 'gd-counties')")
    wait_for(lambda: state.snapshot is not held, "the plans were not replaced")
    assert held is not None and held.layers["gd-counties"].tiles is plan  # never mutated


def overview_exists(url: str, table: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass(%s)", [f"onemap_data.{table}"]).fetchone()
    return bool(row and row[0])


@pytest.fixture(scope="module")
def small_layer(
    tiles_client: TestClient, sample_url: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A layer too small for overviews when published (MIN_FEATURES as shipped)."""
    publish_points(sample_url, tmp_path_factory.mktemp("ovw"), OVERVIEW_LAYER, OVERVIEW_COUNT)
    wait_for_layer(tiles_client, OVERVIEW_LAYER)
    return OVERVIEW_LAYER


def test_no_tile_request_builds_an_overview(
    tiles_client: TestClient, sample_url: str, small_layer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overview, "MIN_FEATURES", OVERVIEW_MIN)  # now it wants them
    layer = current_plan(tiles_client, small_layer).layer
    for tms in ("WebMercatorQuad", "CGCS2000Quad", "WorldCRS84Quad"):
        for z in (4, 6, 8):
            row, col = tile_at(tms, z, 113.3, 23.1)
            for kind in ("tiles", "map/tiles"):
                path = f"/collections/{small_layer}/{kind}/{tms}/{z}/{row}/{col}"
                assert tiles_client.get(path).status_code == 200, path
    time.sleep(1.0)  # a build started by a request would have created its table by now
    for family in (mvt.MERCATOR, mvt.GEOGRAPHIC):
        assert not overview_exists(sample_url, overview.overview_table_name(layer, family))


def test_overview_is_built_after_publish_without_a_tile_request(
    tiles_client: TestClient,
    sample_url: str,
    small_layer: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(overview, "MIN_FEATURES", OVERVIEW_MIN)
    old = current_plan(tiles_client, small_layer).layer.version
    publish_points(sample_url, tmp_path, small_layer, OVERVIEW_COUNT)  # version 2
    plan = wait_for(
        lambda: (p := current_plan(tiles_client, small_layer)).layer.version > old and p,
        "the new version never reached the app",
    )
    layer = plan.layer
    names = [overview.overview_table_name(layer, f) for f in (mvt.MERCATOR, mvt.GEOGRAPHIC)]
    wait_for(
        lambda: all(overview_exists(sample_url, name) for name in names),
        "the overviews were not built after the publish",
        timeout=120,
    )
    producer = state_of(tiles_client).tile_producer
    assert producer is not None
    spec = mvt.TileSpec.of("CGCS2000Quad", 7, *tile_at("CGCS2000Quad", 7))
    wait_for(lambda: producer.overviews.table_for(layer, spec) == names[1], "never marked ready")
    row, col = tile_at("CGCS2000Quad", 6)
    first = tiles_client.get(f"/collections/{small_layer}/tiles/CGCS2000Quad/6/{row}/{col}")
    assert first.status_code == 200
    row, col = tile_at("CGCS2000Quad", 7)
    second = tiles_client.get(f"/collections/{small_layer}/tiles/CGCS2000Quad/7/{row}/{col}")
    features = decode(second.content)[small_layer]["features"]
    assert 0 < len(features) <= mvt.CELLS_PER_TILE**2


def test_a_tile_query_past_the_statement_timeout_is_a_503(
    tile_settings: ServiceSettings, tmp_path: Path
) -> None:
    settings = tile_settings.model_copy(
        update={"statement_timeout_ms": 1000, "tile_cache_dir": tmp_path / "tiles"}
    )
    row, col = tile_at("WebMercatorQuad", 9)
    paths = [
        f"/collections/gd-counties/tiles/WebMercatorQuad/9/{row}/{col}",
        f"/collections/gd-counties/map/tiles/WebMercatorQuad/9/{row}/{col}",
        f"/tiles/WebMercatorQuad/9/{row}/{col}?collections=gd-counties",
    ]
    wmts = f"/wmts/1.0.0/gd-counties/default/WebMercatorQuad/9/{row}/{col}.pbf"
    with TestClient(create_app(settings)) as client:
        wait_for_layer(client, "gd-counties")
        table = current_plan(client, "gd-counties").layer.table_name
        with psycopg.connect(state_of(client).database_url) as locker:  # holds the lock
            locked = sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE")
            locker.execute(locked.format(sql.Identifier("onemap_data", table)))
            answers = [client.get(path) for path in paths]
            report = client.get(wmts)
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert "statement timeout" in answer.json()["detail"]
        assert report.status_code == 503 and b"statement timeout" in report.content
        assert client.get(paths[0]).status_code == 200  # the lock is gone: served again
