"""Every bad input of the processes is a 400 naming the input — never a 500.

Each input of a valid request is replaced in turn by wrong types, NaN/Infinity, empty and
huge values, invalid geometries, unknown layers and layers of the wrong kind (raster for
vector and back). A 500 — or the server raising — fails the test; so does a 4xx that does
not name the input. Valid substitutions (a string where a string is fine) may succeed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from spatial import DEFAULT_REGISTRY
from tests.helpers.catalog import publish_dem
from tests.helpers.wait import wait_for_layer
from tests.spatial.conftest import grid_node

POINT = [113.2644, 23.1291]
SQUARE = [[113.2, 23.0], [113.4, 23.0], [113.4, 23.2], [113.2, 23.2], [113.2, 23.0]]
SEED = [113.5, 22.9]  # a 0 m cell of the sample DEM, by the Pearl River mouth


def _collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"features": {"type": "FeatureCollection", "features": list(features)}}


def _feature(geometry: Any, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[113, 23], [113.1, 23.1], [113.1, 23], [113, 23.1], [113, 23]]],
}
CIRCLE = {"type": "Circle", "coordinates": [113.3, 23.1], "radius": 500}
BAD_VALUES: list[Any] = [
    None,
    "x",
    -1,
    0,
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    5e-324,  # the smallest positive float: a cell of it makes a grid too large to count
    [],
    {},
    [math.nan, math.nan],
    [1, 2, 3],
    CIRCLE,
    {"type": "Point", "coordinates": [math.nan, 23.0]},
    {"type": "Point", "coordinates": []},
    BOWTIE,
    {"collection": "no-such-layer"},
    {"collection": "fuzz-dem"},
    {"collection": "gd-counties"},
    {"collection": "synthetic-roads"},
    {"path": "no-such.tif"},
    _collection(),
    _collection(_feature(CIRCLE)),
    _collection(_feature(BOWTIE, value=1)),
    _collection(_feature(None, value=1)),
    _collection(_feature({"type": "Point", "coordinates": [113.3, math.inf]}, value=1)),
    _collection(*[_feature({"type": "Point", "coordinates": [113.3, 23.1]}, value=1)] * 3),
    {"features": "not a collection"},
    {"collection": "gd-counties", "filter": "no_such_field = 1"},
    {"collection": "gd-counties", "filter": "(((("},
    {"collection": "gd-counties", "adcode": "999999"},
]

BASELINES: dict[str, dict[str, Any]] = {
    "affected-area": {
        "incident": {"type": "Point", "coordinates": POINT},
        "radius_m": 3000,
        "layers": [{"collection": "synthetic-facilities"}],
    },
    "nearest-facilities": {"location": POINT, "facilities": {"collection": "synthetic-facilities"}},
    "service-area": {
        "location": list(grid_node(0, 0)),
        "roads": {"collection": "test-grid-roads"},
        "minutes": [5],
    },
    "route-to-nearest": {
        "location": list(grid_node(0, 0)),
        "roads": {"collection": "test-grid-roads"},
        "facilities": {"collection": "test-grid-hospitals"},
    },
    "zonal-statistics": {
        "raster": {"collection": "fuzz-dem"},
        "zones": {"collection": "gd-counties", "adcode": "440100"},
    },
    "interpolation": {
        "readings": {"collection": "synthetic-stations"},
        "value_field": "pm25",
        "cell_m": 5000,
        "adcode": "440100",
        "threshold": 40,
    },
    "buffer-zones": {
        "sites": {"collection": "synthetic-water-sources"},
        "distance_m": 3000,
        "check": {"collection": "synthetic-factories"},
    },
    "overlay-statistics": {
        "layer": {"collection": "synthetic-landuse"},
        "class_field": "landuse",
        "units": {"collection": "gd-counties", "adcode": "440100"},
    },
    "terrain": {"dem": {"collection": "fuzz-dem"}},
    "suitability": {
        "dem": {"collection": "fuzz-dem"},
        "roads": {"collection": "synthetic-roads"},
        "cell_m": 5000,
    },
    "roll-up": {"layer": {"collection": "synthetic-stations"}, "value_field": "pm25"},
    "population-exposure": {
        "zones": _collection(_feature({"type": "Polygon", "coordinates": [SQUARE]}, name="z"))
    },
    "typhoon-wind-circles": {
        "track": [
            {"time": "2026-09-01T08:00+08:00", "position": POINT, "radii_km": {"7": [50] * 4}}
        ]
    },
    "flood-inundation": {"dem": {"collection": "fuzz-dem"}, "water_level_m": 20, "seeds": [SEED]},
    "monitoring-series": {
        "layer": {"collection": "synthetic-station-readings", "filter": "station_id = 'SYN0004'"},
        "window": "2025-06-10/2025-06-10",
    },
    "redline-check": {"footprint": {"type": "Polygon", "coordinates": [SQUARE]}},
    "od-cost-matrix": {
        "roads": {"collection": "test-grid-roads"},
        "origins": _collection(_feature({"type": "Point", "coordinates": grid_node(0, 0)})),
        "destinations": {"collection": "test-grid-hospitals"},
    },
    "closest-facilities": {
        "roads": {"collection": "test-grid-roads"},
        "incidents": _collection(_feature({"type": "Point", "coordinates": grid_node(1, 1)})),
        "facilities": {"collection": "test-grid-hospitals"},
    },
    "evacuation": {
        "roads": {"collection": "test-grid-roads"},
        "origins": _collection(
            _feature({"type": "Point", "coordinates": grid_node(1, 0)}, population=10)
        ),
        "shelters": _collection(
            _feature({"type": "Point", "coordinates": grid_node(0, 0)}, capacity=20)
        ),
    },
    "transition-matrix": {
        "layer": "synthetic-landuse",
        "before": {"version": 1},
        "after": {"version": 1},
        "class_field": "landuse",
    },
    "change-in-protected-zones": {
        "layer": "synthetic-landuse",
        "before": {"version": 1},
        "after": {"version": 1},
        "zones": {
            "collection": "synthetic-protected-zones",
            "adcode": "440100",
        },  # one city: lighter
    },
    "slope-classes": {
        "dem": {"collection": "fuzz-dem"},
        "cell_m": 5000,
        "units": {"collection": "gd-counties", "adcode": "440100"},
    },
    "categorical-zonal": {
        "raster": {"collection": "fuzz-dem"},
        "units": {"collection": "gd-counties", "adcode": "440100"},
    },
    "kernel-density": {"points": {"collection": "synthetic-facilities"}, "cell_m": 5000},
    "hotspots": {"layer": {"collection": "synthetic-stations"}, "value_field": "pm25"},
}
EXTRA_INPUTS = {  # optional inputs not in the baselines, fuzzed as well
    "nearest-facilities": ["k"],
    "interpolation": ["method", "power", "neighbours", "smoothing"],
    "service-area": ["speed_field"],
    "route-to-nearest": ["speed_field"],
    "zonal-statistics": ["percentiles", "band"],
    "affected-area": ["units", "code_field"],
    "suitability": ["exclusions", "top_n", "best_share", "max_slope_deg", "max_area_km2"],
    "roll-up": ["how", "weight_field", "code_field"],
    "terrain": ["cell_m"],
    # (population-exposure: its other layer inputs are LayerInputs as zones is; at ~0.2 s a run,
    # fuzzing each would cost the CI budget — tests/spatial/test_exposure.py checks them)
    "monitoring-series": ["values", "station_field", "period", "county_field"],
    "redline-check": ["tolerance_m2", "prohibited_classes"],
    "closest-facilities": ["n"],
    "kernel-density": ["bandwidth_m", "weight_field"],
    "hotspots": ["per", "distance_m", "cell_m"],
}


@pytest.fixture(scope="module")
def fuzz_client(
    client: TestClient, spatial_url: str, tmp_path_factory: pytest.TempPathFactory
) -> TestClient:
    publish_dem(spatial_url, "fuzz-dem", tmp_path_factory.mktemp("fuzz-rasters"), "spatial-tests")
    for layer in ("fuzz-dem", "test-grid-roads", "test-grid-hospitals"):
        wait_for_layer(client, layer, timeout=15)
    return client


def _post(client: TestClient, process: str, inputs: dict[str, Any]) -> tuple[int, str]:
    try:
        response = client.post(  # NaN and Infinity as Python's json writes them
            f"/processes/{process}/execution",
            content=json.dumps({"inputs": inputs}),
            headers={"Content-Type": "application/json"},
        )
    except Exception as exc:  # the app raised: what a real server answers with a 500 + reset
        return 500, f"raised {type(exc).__name__}: {exc}"
    if response.status_code >= 400:
        return response.status_code, response.json().get("detail", "")
    return response.status_code, ""


def _too_heavy(status: int, detail: str) -> bool:
    """A valid input too heavy for a synchronous run (buffering every road by 3 km, 719 road
    features as origins): stopped at the run's time or size limit with a 413 that says what
    to do — an answer, not a failure."""
    return status == 413 and "narrow" in detail


def _names_an_input(detail: str, names: list[str]) -> bool:
    """The message names an input (as a word), as ``"units: ..."`` or ``"... cell_m ..."``."""
    return any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", detail) for n in names)


@pytest.mark.parametrize("process", sorted(BASELINES))
def test_bad_inputs_are_400s_naming_the_input(fuzz_client: TestClient, process: str) -> None:
    baseline = BASELINES[process]
    status, detail = _post(fuzz_client, process, baseline)
    assert status == 200, f"the baseline of {process} fails: {detail}"
    problems = []
    inputs = list(DEFAULT_REGISTRY.get(process).inputs.model_fields)  # one may name another
    for name in [*baseline, *EXTRA_INPUTS.get(process, [])]:
        for value in BAD_VALUES:
            status, detail = _post(fuzz_client, process, baseline | {name: value})
            if status == 200 or _too_heavy(status, detail):
                continue
            if status != 400 or not _names_an_input(detail, inputs):
                problems.append(f"{name}={value!r:.60}: {status} {detail[:160]}")
    assert not problems, f"{len(problems)} bad answers:\n" + "\n".join(problems)


def test_a_huge_inline_collection_is_a_400(fuzz_client: TestClient) -> None:
    point = {"type": "Point", "coordinates": [113.3, 23.1]}
    many = _collection(*[_feature(point)] * 100_001)
    status, detail = _post(fuzz_client, "buffer-zones", {"sites": many, "distance_m": 100})
    assert status == 400 and "sites: " in detail and "at most 100,000 features" in detail
