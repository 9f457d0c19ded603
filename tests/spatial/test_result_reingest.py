"""An analysis GeoTIFF (equal-area CRS, NaN outside the area) can be published again."""

from __future__ import annotations

import json
from typing import Any

import rasterio
from fastapi.testclient import TestClient

from tests.conftest import PUBLISHER
from tests.helpers.wait import wait_for_layer


def _surface(client: TestClient) -> bytes:
    response = client.post(
        "/processes/interpolation/execution",
        json={
            "inputs": {
                "readings": {"collection": "synthetic-stations"},
                "value_field": "pm25",
                "cell_m": 5000,
                "adcode": "440100",
            },
            "outputs": {"surface": {}},
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/tiff")
    return response.content


def test_an_analysis_geotiff_is_published_as_a_raster_layer(client: TestClient) -> None:
    surface = _surface(client)
    response = client.post(
        "/ingest",
        files={"file": ("pm25_surface.tif", surface, "image/tiff")},
        data={"id": "test-pm25-surface", "title": "PM2.5 插值"},
        headers=PUBLISHER,
    )
    assert response.status_code == 201, response.text
    wait_for_layer(client, "test-pm25-surface")
    layer = client.get("/collections/test-pm25-surface")
    described: dict[str, Any] = layer.json()
    west, south, east, north = described["extent"]["spatial"]["bbox"][0]
    assert 112.8 < west < east < 114.2 and 22.3 < south < north < 24.0  # Guangzhou, in degrees
    stats = client.post(
        "/processes/zonal-statistics/execution",
        content=json.dumps(
            {
                "inputs": {
                    "raster": {"collection": "test-pm25-surface"},
                    "zones": {"collection": "gd-counties", "adcode": "440100"},
                }
            }
        ),
        headers={"Content-Type": "application/json"},
    )
    assert stats.status_code == 200, stats.text
    with rasterio.MemoryFile(surface) as memory, memory.open() as ds:
        assert ds.count == 1
