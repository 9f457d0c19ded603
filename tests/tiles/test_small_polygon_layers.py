"""Small polygon layers are covered at low zooms too (issue 18): a layer of ~3,000 parcels,
far under the 50,000 features that earn any layer an overview, gets a merged one because
its polygons are small, and its tiles z6–z9 fill ≥ 95 % of the pixels the full-resolution
parcels fill (tests/helpers/coverage.py), with at most one merged feature per cell; coarse
polygon layers (the sample's boundaries) keep the version table and cost no build."""

from __future__ import annotations

import asyncio

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import shapely
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from ingest.pipeline import LayerMeta, ingest_file
from layers.catalog import Layer, load_catalog
from tests.helpers.coverage import Coverage, data_filled, tile_filled
from tests.tiles.helpers import decode, tile_at
from tiles import merge, mvt, overview
from tiles.plan import TilePlan

LAYER = "tiles-small-parcels"
CENTRE = (113.3, 23.1)
HALF = 0.25  # a 0.5° square: parcels of ~0.009° (~1 km), under a cell up to z8
MAX_TILE_BYTES = 256 * 1024


def parcels(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Voronoi cells of 3,300 random points, a tenth of them left out (holes)."""
    west, south = CENTRE[0] - HALF, CENTRE[1] - HALF
    seeds = shapely.points(rng.uniform(0, 2 * HALF, (3300, 2)) + np.array([west, south]))
    frame = shapely.box(west, south, west + 2 * HALF, south + 2 * HALF)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds)))
    kept = shapely.intersection(cells, frame)[rng.random(len(cells)) >= 0.1]
    return gpd.GeoDataFrame({"code": np.arange(len(kept))}, geometry=kept, crs="EPSG:4490")


@pytest.fixture(scope="module")
def small(sample_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Layer, str]:
    """The parcels published, and the overviews the app's registry builds for them (the
    Web Mercator table's name)."""
    path = tmp_path_factory.mktemp("small-parcels") / "parcels.gpkg"
    parcels(np.random.default_rng(18)).to_file(path, driver="GPKG")
    meta = LayerMeta(
        id=LAYER, title_zh="小地块", title_en="Small parcels", level="province", adcode="440000"
    )
    ingest_file(sample_url, path, meta)
    with psycopg.connect(sample_url) as conn:
        layer = load_catalog(conn).get(LAYER)
    registry = overview.OverviewRegistry()

    async def build() -> None:
        async with AsyncConnectionPool(sample_url, min_size=1, max_size=1) as pool:
            await registry.build_missing(pool, [layer])

    asyncio.run(build())
    spec = mvt.TileSpec.of("WebMercatorQuad", 6, 0, 0)
    table = registry.table_for(layer, spec)
    assert table is not None  # built, whatever the count
    return layer, table


def _full_resolution(url: str, layer: Layer) -> np.ndarray:
    query = sql.SQL("SELECT ST_AsBinary(ST_Transform(geom, 3857)) FROM {}").format(
        sql.Identifier("onemap_data", layer.table_name)
    )
    with psycopg.connect(url) as conn:
        return shapely.from_wkb([bytes(r[0]) for r in conn.execute(query)])


def test_small_parcels_fill_what_the_data_fills_at_z6_to_z9(
    small: tuple[Layer, str], sample_url: str
) -> None:
    layer, table = small
    assert layer.feature_count < overview.MIN_FEATURES
    grid = _full_resolution(sample_url, layer)
    statement = TilePlan.of(layer).statement(mvt.MERCATOR, "mvt", layer.field_names, table)
    for z in range(6, 10):
        spec = mvt.TileSpec.of("WebMercatorQuad", z, *tile_at("WebMercatorQuad", z, *CENTRE))
        with psycopg.connect(sample_url) as conn:
            row = conn.execute(statement.encode(), spec.params()).fetchone()
        data = bytes(row[0]) if row and row[0] else b""
        features = decode(data).get(LAYER, {}).get("features", [])
        result = Coverage.of(tile_filled(features), data_filled(grid, spec.bounds))
        assert result.covered >= 0.95 and result.false_fill <= 0.05, (z, result)
        merged = [f for f in features if merge.MERGED in f["properties"]]
        assert merged and len(merged) <= mvt.CELLS_PER_TILE**2, z
        assert len(data) <= MAX_TILE_BYTES, (z, len(data))


def test_coarse_polygon_layers_keep_the_version_table(sample_url: str) -> None:
    """The sample's boundaries (~0.6° counties and bigger) build no overview at start-up."""
    with psycopg.connect(sample_url) as conn:
        catalog = load_catalog(conn)
    for layer_id in ("gd-province", "gd-cities", "gd-counties"):
        layer = catalog.get(layer_id)
        assert merge.is_polygon_layer(layer) and not overview.has_small_polygons(layer)
        assert not overview.wants_overview(layer, mvt.MERCATOR, 0)
