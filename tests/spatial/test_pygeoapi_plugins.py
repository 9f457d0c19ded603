"""The analyses load into pygeoapi by dotted path and run there."""

from __future__ import annotations

import pytest
from pygeoapi.plugin import load_plugin
from pygeoapi.process.base import ProcessorExecuteError
from pygeoapi.process.manager.dummy import DummyManager
from pyproj import Geod

import ogc.processes.pygeoapi_plugins as plugins
from spatial import DEFAULT_REGISTRY

GEOD = Geod(ellps="GRS80")
SITE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "水源"},
            "geometry": {"type": "Point", "coordinates": [113.3, 23.1]},
        }
    ],
}


def test_every_analysis_has_a_processor_class() -> None:
    named = {
        cls.analysis_id
        for cls in vars(plugins).values()
        if isinstance(cls, type)
        and issubclass(cls, plugins.OneMapProcessor)
        and cls is not plugins.OneMapProcessor
    }
    assert named == set(DEFAULT_REGISTRY.ids())


BUFFER_ZONES = "ogc.processes.pygeoapi_plugins.BufferZonesProcessor"


def test_pygeoapi_loads_and_runs_a_processor_by_dotted_path() -> None:
    processor = load_plugin(
        "process", {"name": "ogc.processes.pygeoapi_plugins.BufferZonesProcessor"}
    )
    assert processor.metadata["id"] == "buffer-zones"
    assert "distance_m" in processor.metadata["inputs"]
    media_type, zones = processor.execute(
        {"sites": {"features": SITE}, "distance_m": 2000}, outputs={"zones": {}}
    )
    assert media_type == "application/geo+json"
    ring = zones["features"][0]["geometry"]["coordinates"][0]
    assert GEOD.inv(113.3, 23.1, *ring[0])[2] == pytest.approx(2000, abs=0.5)


def test_pygeoapi_manager_executes_with_a_database(sample_url: str) -> None:
    manager = DummyManager(
        {
            "name": "Dummy",
            "processes": {
                "nearest": {
                    "type": "process",
                    "processor": {
                        "name": "ogc.processes.pygeoapi_plugins.NearestFacilitiesProcessor",
                        "database_url": sample_url,
                    },
                }
            },
        }
    )
    _job_id, media_type, result, status, _ = manager.execute_process(
        "nearest",
        {
            "location": [113.2644, 23.1291],
            "k": 2,
            "facilities": {"collection": "synthetic-facilities"},
        },
    )
    assert media_type == "application/geo+json"
    assert status.value == "successful"
    assert len(result["features"]) == 2


def test_bad_input_is_a_processor_error() -> None:
    processor = load_plugin(
        "process", {"name": "ogc.processes.pygeoapi_plugins.BufferZonesProcessor"}
    )
    with pytest.raises(ProcessorExecuteError, match="metres"):
        processor.execute({"sites": {"features": SITE}, "distance_m": -1})
