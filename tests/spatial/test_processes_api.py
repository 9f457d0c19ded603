"""OGC API – Processes through the real app: descriptions, sync/async jobs, results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import rasterio
import shapely
from fastapi.testclient import TestClient
from pyproj import Geod
from rasterio.io import MemoryFile

from tests.conftest import PUBLISHER
from tests.helpers.catalog import SAMPLE_DEM as DEM
from tests.helpers.catalog import publish_dem
from tests.helpers.wait import wait_for_job, wait_for_layer

GEOD = Geod(ellps="GRS80")
PROCESSES_CORE = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core"


def test_processes_are_listed_linked_and_conformant(client: TestClient) -> None:
    ids = {p["id"] for p in client.get("/processes").json()["processes"]}
    assert {
        "nearest-facilities",
        "zonal-statistics",
        "service-area",
        "overlay-statistics",
        "interpolation",
        "suitability",
        "roll-up",
        "affected-area",
        "buffer-zones",
    } <= ids
    rels = [link["rel"] for link in client.get("/").json()["links"]]
    assert "http://www.opengis.net/def/rel/ogc/1.0/processes" in rels
    assert PROCESSES_CORE in client.get("/conformance").json()["conformsTo"]
    assert "/processes/{processId}/execution" in client.get("/api").json()["paths"]


def test_process_description_has_json_schema_inputs(client: TestClient) -> None:
    body = client.get("/processes/nearest-facilities").json()
    assert body["inputs"]["k"]["schema"]["maximum"] == 100
    assert body["inputs"]["location"]["minOccurs"] == 1
    facilities = body["inputs"]["facilities"]["schema"]
    assert "collection" in facilities["properties"]  # $refs inlined
    assert body["outputs"]["nearest"]["schema"]["contentMediaType"] == "application/geo+json"
    assert client.get("/processes/no-such").status_code == 404


def test_sync_execution_returns_geojson(client: TestClient) -> None:
    location = [113.2644, 23.1291]
    response = client.post(
        "/processes/nearest-facilities/execution",
        json={
            "inputs": {
                "location": location,
                "k": 3,
                "facilities": {"collection": "synthetic-facilities"},
            }
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    features = response.json()["features"]
    assert len(features) == 3
    for feature in features:
        lon, lat = feature["geometry"]["coordinates"]
        expected = GEOD.inv(*location, lon, lat)[2]
        assert feature["properties"]["distance_m"] == pytest.approx(expected, abs=0.01)
    job_url = f"/jobs/{response.headers['X-OneMap-Job']}"
    job = client.get(job_url, headers=PUBLISHER).json()  # the job is its submitter's
    assert job["status"] == "successful"
    assert job["onemap:lineage"] == [{"layer": "synthetic-facilities", "version": 1}]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"incident": {"type": "Point", "coordinates": [113.3, 23.1]}, "radius_m": -1},
            "positive distance in metres",
        ),
        (
            {"incident": {"type": "Point", "coordinates": [113.3, 23.1]}, "radius_m": 10_000_000},
            "give the distance in metres",
        ),
        (
            {
                "incident": {"type": "Point", "coordinates": [113.3, 23.1]},
                "radius_m": 100,
                "units": {"collection": "no-such-layer"},
            },
            "does not exist",
        ),
        (
            {
                "incident": {"type": "Point", "coordinates": [113.3, 23.1]},
                "radius_m": 100,
                "units": {"collection": "synthetic-roads"},
            },
            "LineString",
        ),
        ({"radius_m": 100}, "incident"),
        (
            {"incident": {"type": "Point", "coordinates": [1133.3, 23.1]}, "radius_m": 100},
            "incident lies outside the service area (Guangdong",
        ),
    ],
)
def test_bad_inputs_are_400s_that_say_what_to_change(
    client: TestClient, inputs: dict[str, Any], message: str
) -> None:
    response = client.post("/processes/affected-area/execution", json={"inputs": inputs})
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


def test_a_location_outside_the_service_area_is_a_400(client: TestClient) -> None:
    inputs = {"location": [13.3, 23.1], "facilities": {"collection": "synthetic-facilities"}}
    response = client.post("/processes/nearest-facilities/execution", json={"inputs": inputs})
    assert response.status_code == 400, response.text
    assert "lies outside the service area" in response.text


def test_a_self_crossing_inline_zone_is_made_valid(client: TestClient) -> None:
    bowtie = [[113.2, 23.0], [113.4, 23.2], [113.4, 23.0], [113.2, 23.2], [113.2, 23.0]]
    inputs = {"incident": {"type": "Polygon", "coordinates": [bowtie]}}
    response = client.post("/processes/affected-area/execution", json={"inputs": inputs})
    assert response.status_code == 200, response.text
    zone = shapely.geometry.shape(response.json()["zone"]["features"][0]["geometry"])
    assert zone.is_valid and zone.area > 0


def test_raster_vector_mismatch_is_a_400(client: TestClient) -> None:
    response = client.post(
        "/processes/zonal-statistics/execution",
        json={"inputs": {"raster": {"collection": "gd-counties"}}},
    )
    assert response.status_code == 400
    assert "vector layer; give a raster layer" in response.json()["detail"]


def test_async_job_with_geotiff_result(client: TestClient) -> None:
    response = client.post(
        "/processes/interpolation/execution",
        json={
            "inputs": {
                "readings": {"collection": "synthetic-stations"},
                "value_field": "pm25",
                "cell_m": 5000,
                "threshold": 45,
                "method": "idw",
            }
        },
        headers={"Prefer": "respond-async"},
    )
    assert response.status_code == 201, response.text
    job_id = response.json()["jobID"]
    assert response.headers["Location"].endswith(f"/jobs/{job_id}")
    info = wait_for_job(client, job_id)
    assert info["status"] == "successful", info
    assert info["progress"] == 100
    # an anonymous job is listed to admins only; its submitter follows it by its URL
    listed = client.get("/jobs", headers=PUBLISHER).json()["jobs"]
    assert any(job["jobID"] == job_id for job in listed)
    assert all(job["jobID"] != job_id for job in client.get("/jobs").json()["jobs"])
    document = client.get(f"/jobs/{job_id}/results").json()
    assert document["exceedance"]["type"] == "FeatureCollection"
    tiff = client.get(document["surface"]["href"])
    assert tiff.headers["content-type"].startswith("image/tiff")
    with MemoryFile(tiff.content) as memfile, memfile.open() as dataset:
        assert dataset.crs is not None and dataset.res == (5000.0, 5000.0)
        assert 15 < float(dataset.read(1, masked=True).mean()) < 60
    assert isinstance(rasterio.__version__, str)


def test_dismissed_job_has_no_results(client: TestClient) -> None:
    response = client.post(
        "/processes/roll-up/execution",
        headers={"Prefer": "respond-async"},
        json={
            "inputs": {
                "layer": {"collection": "synthetic-stations"},
                "value_field": "pm25",
                "how": "mean",
            }
        },
    )
    job_id = response.json()["jobID"]
    wait_for_job(client, job_id)
    assert client.delete(f"/jobs/{job_id}").json()["status"] == "dismissed"
    assert client.get(f"/jobs/{job_id}/results").status_code == 404
    assert client.get("/jobs/not-a-uuid").status_code == 404


def test_result_published_as_a_layer_with_lineage(client: TestClient) -> None:
    response = client.post(
        "/processes/buffer-zones/execution",
        json={
            "inputs": {
                "sites": {"collection": "synthetic-water-sources"},
                "distance_m": 3000,
                "check": {"collection": "synthetic-factories"},
            },
            "outputs": {"violations": {}},
            "publish": {
                "collection": "result-water-violations",
                "output": "violations",
                "title": "水源保护区内的工厂",
            },
        },
        headers=PUBLISHER,  # publishing a result needs the publisher token
    )
    assert response.status_code == 200, response.text
    job_url = f"/jobs/{response.headers['X-OneMap-Job']}"
    job = client.get(job_url, headers=PUBLISHER).json()  # the job is its submitter's
    assert any(
        link["href"].endswith("/collections/result-water-violations") for link in job["links"]
    )
    wait_for_layer(client, "result-water-violations")
    layer = client.get("/collections/result-water-violations").json()["onemap:layer"]
    derived = layer["metadata"]["derived_from"]
    assert derived["process"] == "buffer-zones"
    assert {"layer": "synthetic-factories", "version": 1} in derived["inputs"]
    items = client.get("/collections/result-water-violations/items?limit=1000").json()
    assert items["numberMatched"] == len(response.json()["features"])


def test_zonal_statistics_of_a_published_raster_layer(
    client: TestClient, sample_url: str, tmp_path: Path
) -> None:
    """A raster layer id resolves to its version's COG through the catalog."""
    publish_dem(sample_url, "test-dem", tmp_path, "spatial-tests")
    wait_for_layer(client, "test-dem")
    body = {
        "inputs": {
            "raster": {"collection": "test-dem"},
            "zones": {"collection": "gd-counties", "adcode": "440100"},
        }
    }
    by_layer = client.post("/processes/zonal-statistics/execution", json=body)
    assert by_layer.status_code == 200, by_layer.text
    body["inputs"]["raster"] = {"path": str(DEM)}  # the bundled file: an admin's, in a root
    by_path = client.post(
        "/processes/zonal-statistics/execution", json=body, headers=PUBLISHER
    ).json()
    means = [f["properties"]["mean"] for f in by_layer.json()["features"]]
    assert len(means) == 11  # Guangzhou's districts
    assert means == pytest.approx([f["properties"]["mean"] for f in by_path["features"]], rel=1e-4)


def test_raster_paths_outside_the_data_roots_are_refused(client: TestClient) -> None:
    response = client.post(
        "/processes/terrain/execution", json={"inputs": {"dem": {"path": "/etc/passwd"}}}
    )
    assert response.status_code == 400
    assert "not allowed" in response.json()["detail"]
