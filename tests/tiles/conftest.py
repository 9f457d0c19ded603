"""Tile fixtures: an app with its own tile cache, a live server for real WMTS clients, and
a dense point layer published through the real ingest path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from fastapi.testclient import TestClient
from shapely import points

from ingest.pipeline import LayerMeta, ingest_file
from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.helpers.catalog import SAMPLE_DEM
from tests.helpers.live import live_server as serve_live
from tests.helpers.wait import wait_for_layer

DENSE_LAYER = "tiles-dense-points"
DENSE_COUNT = 20_000


@pytest.fixture(scope="session")
def tile_settings(
    settings: ServiceSettings, tmp_path_factory: pytest.TempPathFactory
) -> ServiceSettings:
    cache = tmp_path_factory.mktemp("tile-cache")
    return settings.model_copy(update={"tile_cache_dir": cache})


@pytest.fixture(scope="session")
def dense_points(sample_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """20,000 random points around Guangzhou, published as a layer."""
    rng = np.random.default_rng(5)
    lon = rng.uniform(112.9, 113.9, DENSE_COUNT)
    lat = rng.uniform(22.6, 23.6, DENSE_COUNT)
    frame = gpd.GeoDataFrame(
        {"name": [f"点{i}" for i in range(DENSE_COUNT)], "value": np.arange(DENSE_COUNT)},
        geometry=points(np.column_stack([lon, lat])),
        crs="EPSG:4490",
    )
    path = tmp_path_factory.mktemp("dense") / "dense.gpkg"
    frame.to_file(path, driver="GPKG")
    meta = LayerMeta(
        id=DENSE_LAYER,
        title_zh="密集点",
        title_en="Dense points",
        level="province",
        adcode="440000",
    )
    ingest_file(sample_url, path, meta)
    return DENSE_LAYER


@pytest.fixture(scope="session")
def tiles_client(tile_settings: ServiceSettings, dense_points: str) -> Iterator[TestClient]:
    with TestClient(create_app(tile_settings)) as client:
        wait_for_layer(client, dense_points)
        yield client


@pytest.fixture(scope="session")
def live_server(tile_settings: ServiceSettings, dense_points: str) -> Iterator[str]:
    """The real app under uvicorn on a free 127.0.0.1 port, for OWSLib and GDAL."""
    with serve_live(create_app(tile_settings)) as live:
        yield live.url


@pytest.fixture(scope="session")
def dem_cog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled DEM converted to a Cloud-Optimised GeoTIFF."""
    import subprocess

    target = tmp_path_factory.mktemp("dem") / "dem_cog.tif"
    subprocess.run(["gdal_translate", "-q", "-of", "COG", str(SAMPLE_DEM), str(target)], check=True)
    return target
