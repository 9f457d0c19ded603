"""The road network is keyed by every parameter that changes it; bad speed fields are 400s."""

from __future__ import annotations

from typing import Any

import pytest

from layers.errors import InvalidParameter
from spatial import DEFAULT_REGISTRY
from spatial.context import Context
from tests.spatial.conftest import GRID_SPEED_KMH, grid_node, grid_roads, publish_frame


@pytest.fixture(scope="module")
def two_speed_roads(spatial_url: str) -> str:
    roads = grid_roads()
    roads["slow_kmh"] = GRID_SPEED_KMH / 4
    roads["name"] = "road"
    publish_frame(spatial_url, "test-two-speed-roads", roads)
    return spatial_url


def _route_seconds(url: str, speed_field: str | None) -> float:
    inputs: dict[str, Any] = {
        "location": list(grid_node(0, 0)),
        "roads": {"collection": "test-two-speed-roads"},
        "facilities": {"collection": "test-grid-hospitals"},
        "speed_field": speed_field,
    }
    with Context.open(url) as ctx:
        result = DEFAULT_REGISTRY.get("route-to-nearest").execute(inputs, ctx)
    return float(result.features["route"]["seconds"].iloc[0])


def test_each_speed_field_gets_its_own_network(two_speed_roads: str) -> None:
    slow_first = _route_seconds(two_speed_roads, "slow_kmh")  # the first caller's speeds…
    fast = _route_seconds(two_speed_roads, "speed_kmh")
    default = _route_seconds(two_speed_roads, None)  # speed_kmh when the layer has it
    assert slow_first == pytest.approx(4 * fast, rel=1e-9)  # …stay theirs alone
    assert default == pytest.approx(fast, rel=1e-9)
    assert _route_seconds(two_speed_roads, "slow_kmh") == pytest.approx(slow_first, rel=1e-9)


@pytest.mark.parametrize(
    ("field", "message"),
    [("no_such_field", "not a field of"), ("name", "is string, not a number")],
)
def test_a_bad_speed_field_is_a_400_naming_it(
    two_speed_roads: str, field: str, message: str
) -> None:
    _route_seconds(two_speed_roads, "speed_kmh")  # a cached network must not hide the error
    for process in ("route-to-nearest", "service-area"):
        with pytest.raises(InvalidParameter, match=f"speed_field: '{field}'.*{message}"):
            if process == "route-to-nearest":
                _route_seconds(two_speed_roads, field)
            else:
                with Context.open(two_speed_roads) as ctx:
                    DEFAULT_REGISTRY.get(process).execute(
                        {
                            "location": list(grid_node(0, 0)),
                            "roads": {"collection": "test-two-speed-roads"},
                            "speed_field": field,
                        },
                        ctx,
                    )
