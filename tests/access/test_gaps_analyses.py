"""Analyses run as their owner, clipped (issue 13): a member limited to Tianhe (440106) who
runs an analysis on the gate's restricted layer gets only the features inside Tianhe —
synchronous and asynchronous jobs alike, through each way an analysis reads a layer
(``read_collection``, the KNN of ``nearest-facilities``, the network of routing)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient

from layers.errors import InvalidParameter
from spatial import DEFAULT_REGISTRY, Context
from tests.access.fields_areas_helpers import as_caller, callers, names_inside_tianhe
from tests.gate_fixtures import RESTRICTED, gate_client
from tests.helpers.wait import wait_for_job
from tests.spatial.conftest import grid_node, grid_roads, publish_frame

__all__ = ["callers", "gate_client"]  # the fixtures
COUNTY, MEMBER, ELSEWHERE = as_caller("county"), as_caller("member"), as_caller("elsewhere")
NEAREST = "/processes/nearest-facilities/execution"
BUFFER = "/processes/buffer-zones/execution"


def _nearest(client: TestClient, headers: dict[str, str]) -> set[str]:
    body = {
        "inputs": {"location": [113.26, 23.13], "facilities": {"collection": RESTRICTED}, "k": 50},
        "outputs": {"nearest": {}},
    }
    answer = client.post(NEAREST, json=body, headers=headers)
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 400:  # no feature of the layer for this caller at all
        assert "no feature matching" in answer.json()["detail"]
        return set()
    return {f["properties"]["name"] for f in answer.json()["features"]}


def test_nearest_facilities_reads_only_inside_the_owners_areas(
    callers: TestClient, sample_url: str
) -> None:
    inside = names_inside_tianhe(callers, sample_url)
    everything = _nearest(callers, MEMBER)
    assert inside and inside < everything  # the points straddle Tianhe's border
    assert _nearest(callers, COUNTY) == inside
    assert _nearest(callers, ELSEWHERE) == set()


class _As:
    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    def get(self, url: str) -> Any:
        return self.client.get(url, headers=self.headers)


def test_an_async_job_runs_clipped_as_its_owner(callers: TestClient, sample_url: str) -> None:
    """The job is read back from its row (0010's owner areas) by a worker thread."""
    inside = names_inside_tianhe(callers, sample_url)
    body = {
        "inputs": {"sites": {"collection": RESTRICTED}, "distance_m": 10},
        "outputs": {"zones": {}},
    }
    submitted = callers.post(BUFFER, json=body, headers=COUNTY | {"Prefer": "respond-async"})
    assert submitted.status_code == 201, submitted.text
    job = submitted.json()["jobID"]
    assert wait_for_job(_As(callers, COUNTY), job)["status"] == "successful"
    zones = callers.get(f"/jobs/{job}/results/zones", headers=COUNTY)
    assert zones.status_code == 200, zones.text
    assert {f["properties"]["name"] for f in zones.json()["features"]} == inside


def _box_ewkb(url: str, geometry: shapely.Geometry) -> bytes:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT ST_AsEWKB(ST_GeomFromWKB(%s, 4490))", (shapely.to_wkb(geometry),)
        ).fetchone()
    assert row is not None
    return bytes(row[0])


def test_routing_networks_and_facilities_are_clipped(sample_url: str) -> None:
    """A clipped caller's road network holds only the roads in their areas (a network of
    its own, whole roads that intersect them), and only their facilities are routed to."""
    publish_frame(sample_url, "gaps-grid-roads", grid_roads())
    hospitals = shapely.points([grid_node(4, 4), grid_node(0, 1)])
    frame = gpd.GeoDataFrame({"name": ["corner", "near"]}, geometry=hospitals, crs=4490)
    publish_frame(sample_url, "gaps-grid-hospitals", frame)
    west = shapely.box(grid_node(0, 0)[0] - 0.001, 22.7, grid_node(1, 0)[0] + 0.001, 22.9)
    clip = _box_ewkb(sample_url, west)  # the grid's first two columns of nodes
    area = {"location": list(grid_node(0, 0)), "roads": {"collection": "gaps-grid-roads"}}
    area |= {"minutes": [30]}
    corner = {"collection": "gaps-grid-hospitals", "filter": "name = 'corner'"}
    route = {"location": area["location"], "roads": area["roads"]}
    service_area = DEFAULT_REGISTRY.get("service-area")
    routing = DEFAULT_REGISTRY.get("route-to-nearest")
    with Context.open(sample_url) as whole:
        reached = service_area.execute(area, whole).values["reached_nodes"]
        assert len(routing.execute(route | {"facilities": corner}, whole).features["route"]) == 1
    with Context.open(sample_url) as clipped:
        clipped.clips = {"gaps-grid-roads": clip, "gaps-grid-hospitals": clip}
        limited = service_area.execute(area, clipped).values["reached_nodes"]
        facilities = {"facilities": {"collection": "gaps-grid-hospitals"}}
        near = routing.execute(route | facilities, clipped).features["route"]
        with pytest.raises(InvalidParameter, match="no facility in the chosen area"):
            routing.execute(route | {"facilities": corner}, clipped)  # outside the areas
    # whole: the 25 grid nodes; clipped: columns 0 and 1, and the column-2 ends of the
    # edges that leave column 1 (features intersecting the areas are whole): 15
    assert reached == 25 and limited == 15
    assert len(near) == 1 and near["length_m"].iloc[0] < 1200  # the hospital inside
