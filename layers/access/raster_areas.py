"""Which cells of a raster an area-limited caller may read: those whose centre lies in their
areas (``layers.access.rules.area_limited``; the areas' union as ``AreaClip.geometry`` and
``spatial.Context.clips`` hold it: EWKB in the storage CRS).

The raster counterpart of ``layers.features.where.area_condition``. Every raster path asks
here — map tiles and GetFeatureInfo of a raster layer (``tiles.raster``), the analyses'
raster inputs (``spatial.raster_source``) — so to such a caller the raster simply has
nodata outside their areas. The centre rule is GDAL's own (rasterisation, gdalwarp's
cutline): a cell is one sample, and a border cell belongs to the side holding its centre.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyproj
import rasterio.features
import shapely
from affine import Affine
from numpy.typing import NDArray

from layers.platform import STORAGE_SRID

STORAGE_CRS = pyproj.CRS.from_epsg(STORAGE_SRID)


@lru_cache(maxsize=32)
def area_in_crs(area: bytes, crs_wkt: str) -> shapely.Geometry:
    """The areas (EWKB, storage CRS) in a raster's CRS (given as WKT: hashable, as
    ``crs.to_wkt()`` of rasterio and pyproj alike). Geographic rasters take the lon/lat as
    they are: CGCS2000 and WGS 84 agree to < 1 m (ADR 0002). Kept for the few CRSs and
    areas in use: every map tile of an area-limited caller asks again."""
    geometry = shapely.from_wkb(area)
    target = pyproj.CRS.from_wkt(crs_wkt)
    if target.is_geographic or geometry.is_empty:
        return geometry
    to_target = pyproj.Transformer.from_crs(STORAGE_CRS, target, always_xy=True)
    return shapely.transform(geometry, lambda xy: np.column_stack(to_target.transform(*xy.T)))


def cells_inside(
    area: shapely.Geometry, transform: Affine, shape: tuple[int, int]
) -> NDArray[np.bool_]:
    """Which cells of the grid (``transform``, ``shape`` as rows × columns, in the CRS of
    ``area``: see ``area_in_crs``) have their centre in ``area``."""
    height, width = shape
    left, top = transform @ (0, 0)
    right, bottom = transform @ (width, height)
    # Only the part over the grid (every cell centre lies inside it) is rasterised: measured
    # 1.8 ms instead of 4 for a 1,024-vertex area a 258-pixel tile sees a quarter of.
    part = shapely.clip_by_rect(
        area, min(left, right), min(top, bottom), max(left, right), max(top, bottom)
    )
    if part.is_empty:
        return np.zeros(shape, dtype=np.bool_)
    inside: NDArray[np.bool_] = rasterio.features.geometry_mask(
        [part], out_shape=shape, transform=transform, invert=True
    )
    return inside
