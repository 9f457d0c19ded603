"""PNG map tiles from raster layers (a Cloud-Optimised GeoTIFF per version) via rio-tiler.

Elevation-like single-band rasters are drawn with a colour ramp stretched over the asset's
value range, shaded by a hillshade computed on the tile (read with a one-pixel buffer so
shading is continuous across tile edges). Pixels without data stay transparent.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import rasterio
import rasterio.windows
from numpy.typing import NDArray
from PIL import Image
from rasterio import warp
from rio_tiler.colormap import cmap
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

from layers.access.raster_areas import area_in_crs, cells_inside
from tiles import grids
from tiles.mvt import GEOGRAPHIC, TILE_PX, family_of
from tiles.render import png_bytes

SUN_AZIMUTH_DEG = 315.0
SUN_ALTITUDE_DEG = 45.0
SHADE_WEIGHT = 0.55  # how much the hillshade darkens the ramp colour
DEFAULT_RAMP = "terrain"


@lru_cache(maxsize=64)
def value_range(asset_path: str) -> tuple[float, float]:
    """(min, max) of band 1, read once per asset from a small overview."""
    with rasterio.open(asset_path) as src:
        factor = max(1, max(src.width, src.height) // 512)
        data = src.read(
            1, out_shape=(max(1, src.height // factor), max(1, src.width // factor)), masked=True
        )
    if data.count() == 0:
        return 0.0, 1.0
    return float(data.min()), float(data.max())


def render_raster(
    asset_path: str,
    tms_id: str,
    z: int,
    row: int,
    col: int,
    ramp: str = DEFAULT_RAMP,
    area: bytes | None = None,
) -> bytes | None:
    """The coloured, hill-shaded PNG of one tile, or None when the asset does not reach it.

    ``area``: an area-limited caller's areas (``AreaClip.geometry``); pixels outside them
    are nodata (``layers.access.raster_areas``), and the shading of those inside is made
    without the elevations outside."""
    grids.check_tile(tms_id, z, row, col)
    with Reader(asset_path, tms=grids.get_tms(tms_id)) as reader:
        if not reader.tile_exists(col, row, z):
            return None
        try:
            image = reader.tile(
                col,
                row,
                z,
                tilesize=TILE_PX,
                buffer=1,
                resampling_method="bilinear",
                reproject_method="bilinear",
            )
        except TileOutsideBounds:
            return None
    elevation = image.data[0].astype("float64")
    valid = image.mask > 0
    if area is not None:
        valid &= cells_inside(area_in_crs(area, image.crs.to_wkt()), image.transform, valid.shape)
    if not valid.any():
        return None
    low, high = value_range(asset_path)
    if area is not None:  # no elevation outside the areas, to colour or to shade with
        elevation = np.where(valid, elevation, np.nan)
    colours = _ramp(np.nan_to_num(elevation, nan=low), low, high, ramp)
    shade = hillshade(elevation, *_pixel_size_m(tms_id, z, row, col))
    if area is not None:  # beside a pixel outside: shaded as flat ground
        shade = np.nan_to_num(shade, nan=math.sin(math.radians(SUN_ALTITUDE_DEG)))
    rgb = colours[..., :3] * ((1 - SHADE_WEIGHT) + SHADE_WEIGHT * shade[..., None])
    alpha = np.where(valid, 255, 0)
    pixels = np.dstack([rgb, alpha])[1:-1, 1:-1].clip(0, 255).astype("uint8")
    return png_bytes(Image.fromarray(pixels, "RGBA"))


def _ramp(values: NDArray[np.float64], low: float, high: float, name: str) -> NDArray[np.float64]:
    table = np.array([cmap.get(name)[i] for i in range(256)], dtype="float64")
    scaled = np.clip((values - low) / max(high - low, 1e-9) * 255, 0, 255).astype("uint8")
    colours: NDArray[np.float64] = table[scaled]
    return colours


def hillshade(elevation: NDArray[np.float64], dx_m: float, dy_m: float) -> NDArray[np.float64]:
    """Lambertian shading in 0..1 (Horn-like gradient via numpy, sun from the north-west)."""
    gy, gx = np.gradient(elevation, dy_m, dx_m)
    slope = np.pi / 2 - np.arctan(np.hypot(gx, gy))
    aspect = np.arctan2(-gx, gy)
    azimuth = math.radians(360 - SUN_AZIMUTH_DEG + 90)
    altitude = math.radians(SUN_ALTITUDE_DEG)
    shaded = np.sin(altitude) * np.sin(slope) + np.cos(altitude) * np.cos(slope) * np.cos(
        azimuth - aspect
    )
    clipped: NDArray[np.float64] = np.clip(shaded, 0, 1)
    return clipped


def _pixel_size_m(tms_id: str, z: int, row: int, col: int) -> tuple[float, float]:
    """Ground size of one pixel, metres, at the tile's centre (gradients need metres)."""
    xmin, _, xmax, _ = grids.tile_bounds(tms_id, z, row, col)
    _, south, _, north = grids.tile_bounds_lonlat(tms_id, z, row, col)
    size = (xmax - xmin) / TILE_PX
    latitude = math.radians((south + north) / 2)
    family, _ = family_of(tms_id)
    if family is GEOGRAPHIC:
        dy = size * grids.METRES_PER_DEGREE
        return dy * math.cos(latitude), dy
    ground = size * math.cos(latitude)  # Mercator metres shrink by cos(latitude)
    return ground, ground


def value_at(asset_path: str, lon: float, lat: float, area: bytes | None = None) -> float | None:
    """Band 1 at a lon/lat point (WMTS GetFeatureInfo on a raster layer); None over nodata,
    and for an area-limited caller (``area``, as in ``render_raster``) outside their areas."""
    with rasterio.open(asset_path) as src:
        x, y = warp.transform("EPSG:4326", src.crs, [lon], [lat])
        row, col = src.index(x[0], y[0])
        if not (0 <= row < src.height and 0 <= col < src.width):
            return None
        window = rasterio.windows.Window(col, row, 1, 1)
        if area is not None:
            cell = src.window_transform(window)
            if not cells_inside(area_in_crs(area, src.crs.to_wkt()), cell, (1, 1))[0, 0]:
                return None
        value = src.read(1, window=window, masked=True)
    return None if value.mask.any() else float(value[0, 0])
