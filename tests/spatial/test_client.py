"""The notebook client (notebooks/onemap_client.py): collections into GeoDataFrames, processes
run synchronously and as jobs, results published and read back — against a live server."""

from __future__ import annotations

import pytest
from onemap_client import (  # notebooks/ (pytest pythonpath)
    OneMapHTTPError,
    execute,
    job_results,
    read_collection,
    submit,
    wait_for_job,
    wait_for_layer,
)
from pyproj import Geod
from rasterio.io import MemoryFile

from tests.conftest import PUBLISHER_TOKEN

HOSPITALS = {"collection": "synthetic-facilities", "filter": "kind = 'hospital'"}


def test_read_whole_collection_following_pages(live_url: str) -> None:
    frame = read_collection(live_url, "gd-counties")
    assert len(frame) == 124
    assert frame.crs.to_string() == "OGC:CRS84"
    assert {"adcode", "name"} <= set(frame.columns)


def test_bbox_and_crs(live_url: str) -> None:
    frame = read_collection(live_url, "synthetic-facilities", bbox=(113.2, 23.0, 113.4, 23.2))
    assert 0 < len(frame) < 620
    assert frame.geometry.x.between(113.2, 113.4).all()
    projected = read_collection(
        live_url, "gd-cities", crs="http://www.opengis.net/def/crs/EPSG/0/4547", max_features=3
    )
    assert len(projected) == 3 and projected.crs.to_epsg() == 4547
    assert projected.total_bounds[0] > 100_000  # metres, not degrees


def test_cql2_filter(live_url: str) -> None:
    frame = read_collection(live_url, "synthetic-facilities", filter="kind = 'hospital'")
    assert len(frame) == 124 and set(frame["kind"]) == {"hospital"}


def test_execute_synchronously_matches_geodesic_distances(live_url: str) -> None:
    here = (113.2644, 23.1291)
    results = execute(
        live_url,
        "nearest-facilities",
        {"location": list(here), "k": 3, "facilities": HOSPITALS},
    )
    nearest = results.features("nearest")
    assert results.job_id and nearest.crs.to_epsg() == 4490
    geod = Geod(ellps="GRS80")  # the reference: ellipsoidal distances, to 1 cm
    reference = [geod.inv(*here, p.x, p.y)[2] for p in nearest.geometry]
    assert list(nearest["rank"]) == [1, 2, 3]
    assert max(abs(a - b) for a, b in zip(nearest["distance_m"], reference, strict=True)) < 0.01


def test_async_job_publish_and_read_back(live_url: str) -> None:
    """submit → wait_for_job → job_results; the published output reads back feature for feature."""
    job = submit(
        live_url,
        "buffer-zones",
        {
            "sites": {"collection": "synthetic-water-sources"},
            "distance_m": 3000,
            "check": {"collection": "synthetic-factories"},
        },
        publish={"collection": "test-client-violations", "output": "violations"},
        token=PUBLISHER_TOKEN,
    )
    status = wait_for_job(live_url, job, token=PUBLISHER_TOKEN)
    assert status["status"] == "successful"
    results = job_results(live_url, job, token=PUBLISHER_TOKEN)
    violations = results.features("violations")
    assert len(violations) == results.value("violation_count") > 0
    wait_for_layer(live_url, "test-client-violations")
    published = read_collection(live_url, "test-client-violations")
    assert sorted(published["distance_m"].round(3)) == sorted(violations["distance_m"].round(3))


def test_raster_output_is_a_geotiff(live_url: str) -> None:
    results = execute(live_url, "terrain", {"dem": {"collection": "gd-dem"}}, outputs=["slope"])
    with MemoryFile(results.raster("slope")) as memory, memory.open() as tiff:
        slope = tiff.read(1, masked=True)
    assert tiff.count == 1 and float(slope.min()) >= 0 and float(slope.max()) < 90


def test_refusals_carry_the_servers_reason(live_url: str) -> None:
    with pytest.raises(OneMapHTTPError) as bad:
        execute(
            live_url, "nearest-facilities", {"location": [1133.3, 23.1], "facilities": HOSPITALS}
        )
    assert bad.value.status == 400 and "location" in bad.value.detail
    with pytest.raises(OneMapHTTPError) as anonymous:  # publishing needs a publisher's token
        submit(
            live_url,
            "nearest-facilities",
            {"location": [113.26, 23.13], "facilities": HOSPITALS},
            publish={"collection": "test-client-refused", "output": "nearest"},
        )
    assert anonymous.value.status in (401, 403)
    failing = submit(  # accepted, then fails while it runs: a text field cannot be summed
        live_url, "roll-up", {"layer": {"collection": "gd-counties"}, "value_field": "name"}
    )
    with pytest.raises(RuntimeError, match=f"job {failing} failed: .*value_field"):
        wait_for_job(live_url, failing)
    with pytest.raises(ValueError, match="http"):
        read_collection("127.0.0.1:8000", "gd-counties")
