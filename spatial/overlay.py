"""Overlay statistics: area of each class of one polygon layer within each unit of another.

Computed in the Albers equal-area CRS (areas within 0.1 % of the ellipsoidal area). Fast
path: units are split into small pieces (as ST_Subdivide does), pairs come from an STRtree,
and parcels wholly inside a piece are counted by their own area — only parcels crossing a
piece boundary are intersected.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from layers.errors import InvalidParameter
from spatial.errors import POLYGONAL, check_geometry_types
from spatial.geodesy import to_equal_area

Measure = Callable[[NDArray[np.object_]], NDArray[np.float64]]  # areas of geometries
MAX_PIECE_VERTICES = 256
DENSIFY_DEG = 0.01  # ~1 km: long lon/lat edges follow the ellipsoid closely enough


def subdivide(
    geom: shapely.Geometry, max_vertices: int = MAX_PIECE_VERTICES
) -> list[shapely.Geometry]:
    """Split a polygon into disjoint pieces of at most ``max_vertices`` (quad splits)."""
    if shapely.get_num_coordinates(geom) <= max_vertices or geom.area == 0:
        return [] if geom.is_empty else [geom]
    minx, miny, maxx, maxy = geom.bounds
    if maxx - minx >= maxy - miny:
        mid = (minx + maxx) / 2
        halves = [(minx, miny, mid, maxy), (mid, miny, maxx, maxy)]
    else:
        mid = (miny + maxy) / 2
        halves = [(minx, miny, maxx, mid), (minx, mid, maxx, maxy)]
    pieces: list[shapely.Geometry] = []
    for box in halves:
        part = shapely.make_valid(shapely.clip_by_rect(geom, *box))
        part = _polygonal(part)
        if part is not None:
            pieces.extend(subdivide(part, max_vertices))
    return pieces


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry | None:
    if geom.is_empty:
        return None
    if geom.geom_type in POLYGONAL:
        return geom
    polys = [g for g in shapely.get_parts(geom) if g.geom_type in POLYGONAL]
    return shapely.union_all(polys) if polys else None


def require_field(frame: gpd.GeoDataFrame, name: str, param: str, what: str) -> None:
    """A 400 naming the input parameter when ``frame`` lacks the field it names."""
    if name not in frame.columns:
        raise InvalidParameter(
            f"{param}: {what} has no field '{name}'; fields: {list(frame.columns)}"
        )


def _prepare(frame: gpd.GeoDataFrame, what: str) -> NDArray[np.object_]:
    check_geometry_types(what, frame.geom_type.unique(), POLYGONAL)
    geoms = shapely.segmentize(frame.geometry.values._data, DENSIFY_DEG)
    return to_equal_area(shapely.make_valid(geoms))


def overlay_areas(
    parcels: gpd.GeoDataFrame, class_field: str, units: gpd.GeoDataFrame, unit_field: str
) -> pd.DataFrame:
    """One row per (unit, class): ``area_km2``; plus the unit's area and the class share."""
    require_field(parcels, class_field, "class_field", "layer")
    require_field(units, unit_field, "unit_field", "units")
    parcel_geoms = _prepare(parcels, "the parcel layer")
    unit_geoms = _prepare(units, "the unit layer")
    unit_idx, parcel_idx, areas = unit_parcel_areas(unit_geoms, parcel_geoms)
    table = pd.DataFrame(
        {
            "unit": units[unit_field].to_numpy()[unit_idx],
            "class": parcels[class_field].to_numpy()[parcel_idx],
            "area_km2": areas / 1e6,
        }
    )
    table = table.groupby(["unit", "class"], dropna=False)["area_km2"].sum().reset_index()
    unit_area = pd.Series(shapely.area(unit_geoms) / 1e6, index=units[unit_field].to_numpy())
    unit_area = unit_area.groupby(level=0).sum()
    table["unit_area_km2"] = table["unit"].map(unit_area)
    table["share"] = table["area_km2"] / table["unit_area_km2"]
    return table.rename(columns={"unit": unit_field, "class": class_field})


def _pieces(unit_geoms: NDArray[np.object_]) -> tuple[NDArray[np.object_], NDArray[np.intp]]:
    pieces: list[shapely.Geometry] = []
    owner: list[int] = []
    for i, geom in enumerate(unit_geoms):
        split = subdivide(geom)
        pieces.extend(split)
        owner.extend([i] * len(split))
    array = np.array(pieces, dtype=object)
    shapely.prepare(array)
    return array, np.array(owner, dtype=np.intp)


def planar_areas(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    areas: NDArray[np.float64] = shapely.area(geoms)
    return areas


def unit_parcel_areas(
    unit_geoms: NDArray[np.object_],
    parcel_geoms: NDArray[np.object_],
    measure: Measure = planar_areas,
    parcel_areas: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """(unit, parcel, area) of every overlap, areas by ``measure`` (planar: the geometries'
    own CRS; the red-line check passes ellipsoidal areas of lon/lat geometries).

    A parcel properly inside its unit (prepared test) counts its own area once (from
    ``parcel_areas`` when given), even when it straddles a seam between pieces; only parcels
    on a unit's boundary are intersected, and then with the small pieces rather than the
    whole unit.
    """
    pieces, piece_unit = _pieces(unit_geoms)
    piece_idx, parcel_idx = shapely.STRtree(parcel_geoms).query(pieces, predicate="intersects")
    pair_unit = piece_unit[piece_idx]
    _keys, first, inverse = np.unique(
        pair_unit * len(parcel_geoms) + parcel_idx, return_index=True, return_inverse=True
    )
    shapely.prepare(unit_geoms)
    whole = shapely.contains_properly(unit_geoms[pair_unit[first]], parcel_geoms[parcel_idx[first]])
    cut = ~whole[inverse]
    whole_parcels = parcel_idx[first][whole]
    cut_areas = measure(shapely.intersection(pieces[piece_idx[cut]], parcel_geoms[parcel_idx[cut]]))
    own = (
        measure(parcel_geoms[whole_parcels])
        if parcel_areas is None
        else parcel_areas[whole_parcels]
    )
    return (
        np.concatenate([pair_unit[first][whole], pair_unit[cut]]),
        np.concatenate([whole_parcels, parcel_idx[cut]]),
        np.concatenate([own, cut_areas]),
    )
