"""Weighted-overlay suitability on the DEM's metric grid.

Each criterion is scored 0..1 (gentle slope is good, near a road is good) and the scores are
combined with normalised weights. Only the study area is rated: a cell is on it when at
least half of it is covered by the study-area polygons (land, not sea), and usable when at
least half of it is on the study area and outside the exclusion zones; the fractions are
exact (``spatial.zonal.coverage``), and so is the excluded area reported. The candidate
areas are ``spatial.candidates``'.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from rasterio import features as rio_features
from scipy import ndimage

from layers.errors import InvalidParameter
from spatial.geodesy import STORAGE_CRS, transform
from spatial.results import Raster
from spatial.terrain import slope_aspect
from spatial.zonal.coverage import coverage_fractions

HALF = 0.5  # the share of a cell that decides whether it is on the study area / usable


@dataclass(frozen=True)
class SiteMask:
    """Where on the grid a site may be: fractions of each cell, and the allowed area."""

    on_study_area: NDArray[np.float64]  # covered by the study area
    usable: NDArray[np.float64]  # ... and outside every exclusion zone
    allowed: shapely.Geometry  # study area minus exclusions, in the grid's CRS
    excluded_km2: float  # of the exclusion zones, inside the study area and the grid


def site_mask(
    dem: Raster, study_area: shapely.Geometry, exclusions: gpd.GeoSeries | None = None
) -> SiteMask:
    """The study area (storage CRS, e.g. the province) less the exclusion zones, per cell."""
    study = _on_grid(study_area, dem)
    land = coverage_fractions(study, dem.transform, dem.shape)
    if not (land >= HALF).any():
        raise InvalidParameter(
            "study_area: no DEM cell lies at least half inside it; give polygons over the DEM"
        )
    zones = shapely.Polygon()
    if exclusions is not None and len(exclusions):
        zones = shapely.intersection(
            _on_grid(shapely.union_all(exclusions.values._data), dem), study
        )
    excluded = coverage_fractions(zones, dem.transform, dem.shape)
    usable = np.clip(land - excluded, 0.0, 1.0)
    if not (usable >= HALF).any():
        raise InvalidParameter("exclusions: they cover the whole study area; no site is left")
    cell_km2 = abs(dem.transform.a * dem.transform.e) / 1e6
    return SiteMask(
        on_study_area=land,
        usable=usable,
        allowed=shapely.difference(study, zones),
        excluded_km2=float(excluded.sum() * cell_km2),
    )


def _on_grid(geom: shapely.Geometry, dem: Raster) -> shapely.Geometry:
    """A storage-CRS area in the grid's CRS, valid and polygonal (lines and points dropped)."""
    projected = shapely.make_valid(transform(np.array([geom]), STORAGE_CRS, dem.crs)[0])
    parts = shapely.get_parts(projected)
    polygons = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    return shapely.union_all(polygons) if len(polygons) else shapely.Polygon()


def linear_score(values: NDArray[np.float64], worst: float) -> NDArray[np.float64]:
    """1 at 0, falling linearly to 0 at ``worst`` and beyond."""
    score: NDArray[np.float64] = np.clip(1.0 - values / worst, 0.0, 1.0)
    return score


def _rasterize(geoms: gpd.GeoSeries, dem: Raster) -> NDArray[np.bool_]:
    projected = transform(geoms.values._data, STORAGE_CRS, dem.crs)
    projected = projected[~shapely.is_empty(projected)]
    if len(projected) == 0:
        return np.zeros(dem.shape, dtype=bool)
    burned = rio_features.rasterize(
        ((g, 1) for g in projected),
        out_shape=dem.shape,
        transform=dem.transform,
        all_touched=True,
        dtype="uint8",
    )
    mask: NDArray[np.bool_] = burned.astype(bool)
    return mask


def distance_to_m(geoms: gpd.GeoSeries, dem: Raster) -> NDArray[np.float64]:
    """Metres from each cell centre to the nearest cell a geometry touches."""
    present = _rasterize(geoms, dem)
    if not present.any():
        raise InvalidParameter("roads: no road lies on the DEM grid; choose roads inside the DEM")
    sampling = (abs(dem.transform.e), abs(dem.transform.a))
    distances: NDArray[np.float64] = ndimage.distance_transform_edt(~present, sampling=sampling)
    return distances


def suitability(
    dem: Raster,
    roads: gpd.GeoSeries,
    mask: SiteMask,
    *,
    slope_weight: float = 0.5,
    road_weight: float = 0.5,
    max_slope_deg: float = 25.0,
    max_road_distance_m: float = 10_000.0,
) -> Raster:
    """The suitability raster on the DEM's metric grid: 0..1 on usable cells, 0 on excluded
    ones, NaN off the study area and the DEM."""
    if slope_weight < 0 or road_weight < 0 or slope_weight + road_weight == 0:
        raise InvalidParameter("weights must be non-negative and not both 0")
    if max_slope_deg <= 0 or max_road_distance_m <= 0:
        raise InvalidParameter("max_slope_deg and max_road_distance_m must be positive")
    slope, _ = slope_aspect(dem)
    total = slope_weight + road_weight
    score = (
        slope_weight * linear_score(slope.data.astype(np.float64), max_slope_deg)
        + road_weight * linear_score(distance_to_m(roads, dem), max_road_distance_m)
    ) / total
    score = np.where(mask.usable >= HALF, score, 0.0)
    score = np.where(np.isnan(dem.data) | (mask.on_study_area < HALF), np.nan, score)
    return Raster(data=score, transform=dem.transform, crs=dem.crs)
