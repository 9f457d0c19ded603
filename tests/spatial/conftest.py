"""Fixtures of the spatial tests: small hand-built layers published through ingest."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from ingest.pipeline import IngestOptions, ingest_file
from layers.catalog_write import LayerMeta
from layers.settings import ServiceSettings
from ogc.app import create_app
from spatial.context import Context
from tests.helpers.catalog import SAMPLE_DEM
from tests.helpers.live import live_server

GRID_ORIGIN = (113.50, 22.80)  # open country south-east of Guangzhou
GRID_STEP = 0.01
GRID_SIZE = 5
GRID_SPEED_KMH = 36.0  # 10 m/s: an edge's seconds are its metres / 10


def publish_frame(
    database_url: str, layer_id: str, frame: gpd.GeoDataFrame, kind_title: str = "test layer"
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{layer_id}.gpkg"
        frame.to_file(path, driver="GPKG")
        meta = LayerMeta(
            id=layer_id, title_zh=kind_title, title_en=kind_title, level="province", adcode="440000"
        )
        ingest_file(
            database_url, path, meta, IngestOptions(who="spatial-tests", raster_dir=Path(folder))
        )


def grid_node(i: int, j: int) -> tuple[float, float]:
    return (round(GRID_ORIGIN[0] + i * GRID_STEP, 6), round(GRID_ORIGIN[1] + j * GRID_STEP, 6))


def grid_roads() -> gpd.GeoDataFrame:
    lines = []
    for i in range(GRID_SIZE):
        for j in range(GRID_SIZE):
            if i + 1 < GRID_SIZE:
                lines.append(shapely.LineString([grid_node(i, j), grid_node(i + 1, j)]))
            if j + 1 < GRID_SIZE:
                lines.append(shapely.LineString([grid_node(i, j), grid_node(i, j + 1)]))
    island = shapely.LineString([(113.80, 22.80), (113.81, 22.80)])  # not connected
    speeds = [GRID_SPEED_KMH] * len(lines) + [GRID_SPEED_KMH]
    return gpd.GeoDataFrame({"speed_kmh": speeds}, geometry=[*lines, island], crs=4490)


@pytest.fixture(scope="session")
def spatial_url(sample_url: str) -> str:
    """The sample database plus the hand-built grid network and its facilities."""
    publish_frame(sample_url, "test-grid-roads", grid_roads())
    hospitals = gpd.GeoDataFrame(
        {"name": ["corner", "island"]},
        geometry=[shapely.Point(grid_node(4, 4)), shapely.Point(113.81, 22.80)],
        crs=4490,
    )
    publish_frame(sample_url, "test-grid-hospitals", hospitals)
    return sample_url


@pytest.fixture()
def ctx(spatial_url: str) -> Iterator[Context]:
    with Context.open(spatial_url) as context:
        yield context


@pytest.fixture(scope="session")
def live_url(settings: ServiceSettings) -> Iterator[str]:
    """The real app served over HTTP on a free loopback port (for the notebook client)."""
    with live_server(create_app(settings)) as live:
        yield live.url


@pytest.fixture(scope="module")
def readings() -> pd.DataFrame:
    """The sample readings as the generator wrote them, with each station's county code."""
    synthetic = SAMPLE_DEM.parent / "synthetic"
    frame = gpd.read_file(synthetic / "guangdong_station_readings.gpkg")
    stations = gpd.read_file(synthetic / "guangdong_synthetic.gpkg", layer="stations")
    frame["day"] = frame["observed"].dt.tz_convert("Asia/Shanghai").dt.date.astype(str)
    return frame.merge(stations[["station_id", "adcode"]], on="station_id")
