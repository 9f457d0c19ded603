"""Real clients against a real uvicorn server: GDAL/OGR OAPIF, OWSLib, geopandas."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator

import geopandas
import httpx
import pytest
import uvicorn
from owslib.ogcapi.features import Features

from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.conftest import free_port


@pytest.fixture(scope="module")
def server(settings: ServiceSettings, events_layer: str) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, name="uvicorn-features", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "uvicorn did not become ready"
        time.sleep(0.1)
    yield base
    instance.should_exit = True
    thread.join(timeout=10)


def ogr(*args: str) -> str:
    result = subprocess.run(
        ["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(("layer", "count"), [("gd-cities", 21), ("gd-counties", 124)])
def test_ogr_oapif_reads_every_feature(server: str, layer: str, count: int) -> None:
    summary = ogr("-so", f"OAPIF:{server}", layer)
    assert f"Feature Count: {count}" in summary
    # -al reads every feature through the next links (page size forced small).
    listing = ogr("-al", "-oo", "PAGE_SIZE=20", f"OAPIF:{server}", layer)
    assert listing.count("OGRFeature(") == count
    assert "天河区" in listing or layer == "gd-cities"


def test_ogr_oapif_lists_collections_and_filters(server: str) -> None:
    layers = ogr(f"OAPIF:{server}")
    assert "gd-counties" in layers and "feat-events" in layers
    filtered = ogr("-al", "-where", "adcode = '440106'", f"OAPIF:{server}", "gd-counties")
    assert filtered.count("OGRFeature(") == 1 and "天河区" in filtered
    box = ogr("-al", "-spat", "113.3", "23.1", "113.4", "23.2", f"OAPIF:{server}", "gd-counties")
    assert "天河区" in box


def test_owslib_features(server: str) -> None:
    client = Features(server)
    assert "gd-counties" in [c["id"] for c in client.collections()["collections"]]
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
        in (client.conformance()["conformsTo"])
    )
    page = client.collection_items("gd-counties", limit=200)
    assert page["numberMatched"] == 124 and len(page["features"]) == 124
    one = client.collection_items("gd-counties", adcode="440106")
    assert one["features"][0]["properties"]["name"] == "天河区"
    queryables = client.collection_queryables("gd-counties")
    assert "adcode" in queryables["properties"]


def test_geopandas_reads_an_items_url(server: str) -> None:
    frame = geopandas.read_file(f"{server}/collections/gd-counties/items?limit=1000")
    assert len(frame) == 124
    assert "天河区" in set(frame["name"])
    assert frame.geometry.iloc[0].geom_type == "MultiPolygon"
    assert 109 < frame.total_bounds[0] < frame.total_bounds[2] < 118
