"""Where things are in the sample data, asked of the server (not written down here)."""

from __future__ import annotations

from typing import Any

import httpx
from shapely.geometry import shape

from tests.helpers.live import LiveServer

BASE_LAYERS = "gd-province,gd-counties"  # on at first (viewer/src/catalog.js)


def feature(server: LiveServer, collection: str, **query: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server.url}/collections/{collection}/items", params={**query, "limit": "1"}
    )
    response.raise_for_status()
    (found,) = response.json()["features"]
    return dict(found)


def inside(server: LiveServer, collection: str, **query: str) -> tuple[float, float]:
    """A point surely inside the feature (its representative point), lon/lat."""
    point = shape(feature(server, collection, **query)["geometry"]).representative_point()
    return point.x, point.y


def view(centre: tuple[float, float], zoom: int, layers: str = BASE_LAYERS, **more: str) -> str:
    """The URL fragment of a view (viewer/src/state.js)."""
    parts = [f"c={centre[0]:.5f},{centre[1]:.5f}", f"z={zoom}", f"l={layers}"]
    parts += [f"{name}={value}" for name, value in more.items()]
    return "#" + "&".join(parts)
