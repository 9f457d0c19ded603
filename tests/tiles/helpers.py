"""Small helpers shared by the tile tests."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import mapbox_vector_tile
import morecantile
import psycopg
from PIL import Image

from layers.catalog import Layer

GUANGZHOU = (113.27, 23.13)


def tile_at(
    tms_id: str, z: int, lon: float = GUANGZHOU[0], lat: float = GUANGZHOU[1]
) -> tuple[int, int]:
    """(row, col) of the tile holding a lon/lat point on one of our grids."""
    from tiles import grids

    tile = grids.get_tms(tms_id).tile(lon, lat, z)
    return tile.y, tile.x


def build_mercator_overview(database_url: str, layer: Layer, family: str = "mercator") -> str:
    """Build the Web Mercator (or ``family``'s) overview of a layer version (as the app
    does for big ones) and return its table's name."""
    from tiles import mvt, overview

    grid = mvt.MERCATOR if family == mvt.MERCATOR.name else mvt.GEOGRAPHIC

    async def build() -> None:
        conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
        async with conn:
            await overview.build_overview(conn, layer, grid)

    asyncio.run(build())
    return overview.overview_table_name(layer, grid)


def decode(data: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def png_pixels(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def opaque_pixels(image: Image.Image) -> int:
    alpha = image.convert("RGBA").getchannel("A")
    return sum(1 for value in alpha.get_flattened_data() if value > 0)


__all__ = [
    "GUANGZHOU",
    "build_mercator_overview",
    "decode",
    "morecantile",
    "opaque_pixels",
    "png_pixels",
    "tile_at",
]
