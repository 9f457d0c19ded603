"""三区三线 red-line conflict check: how much of each parcel lies in each protected class.

Areas are ellipsoidal (geodesic edges on the CGCS2000 ellipsoid, ``geodesic_areas_m2``), as
the 第三次全国国土调查 rules measure 图斑 areas — not areas in a map projection. The protected
zones of each class are dissolved and cut into small disjoint pieces (``overlay.subdivide``),
so overlapping zones of one class count once and each intersection stays small; the overlaps
are then split by county the same way. Totals per class and parcel come from the overlaps
themselves, never from the county split (published county outlines may overlap by slivers).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from spatial.errors import POLYGONAL, check_geometry_types
from spatial.geodesy import STORAGE_CRS, geodesic_areas_m2
from spatial.overlay import subdivide, unit_parcel_areas

ECOLOGICAL_RED_LINE = "生态保护红线"
PERMANENT_FARMLAND = "永久基本农田"
URBAN_BOUNDARY = "城镇开发边界"
COMPLIANT, NOT_COMPLIANT, REVIEW = "符合", "不符合", "需审查"
OUTSIDE_NOISE_M2 = 0.01  # a part's area minus its units' parts: below this, rounding


@dataclass(frozen=True)
class Rule:
    """The verdict of a parcel, from its overlaps (m²) with each class.

    不符合 when it overlaps a prohibited class by more than ``tolerance_m2``; else 符合 when
    at most ``tolerance_m2`` of it lies outside the permitted class; else 需审查 (no conflict,
    but outside the development boundary: for the planning authority to decide).
    """

    prohibited: tuple[str, ...] = (ECOLOGICAL_RED_LINE, PERMANENT_FARMLAND)
    permitted: str | None = URBAN_BOUNDARY
    tolerance_m2: float = 1.0

    def verdict(self, area_m2: float, overlaps: dict[str, float]) -> tuple[str, str]:
        conflicts = [c for c in self.prohibited if overlaps.get(c, 0.0) > self.tolerance_m2]
        if conflicts:
            named = "、".join(f"{c} {overlaps[c]:,.1f} m²" for c in conflicts)
            return NOT_COMPLIANT, f"占用{named}"
        if self.permitted is None:
            return COMPLIANT, "未占用禁止类管控区"
        outside = area_m2 - overlaps.get(self.permitted, 0.0)
        if outside <= self.tolerance_m2:
            return COMPLIANT, f"位于{self.permitted}内，未占用{'、'.join(self.prohibited)}"
        return REVIEW, f"未占用禁止类管控区，但有 {outside:,.1f} m² 位于{self.permitted}外"

    def statement(self) -> str:
        within = f"{self.permitted}内（界外不超过 {self.tolerance_m2:g} m²）"
        permitted = (
            f"；否则全部位于{within}为“{COMPLIANT}”，部分或全部位于{self.permitted}外为“{REVIEW}”"
            if self.permitted
            else f"；否则为“{COMPLIANT}”"
        )
        return (
            f"地块与{'、'.join(self.prohibited)}重叠面积超过 {self.tolerance_m2:g} m² 为"
            f"“{NOT_COMPLIANT}”{permitted}。面积为 CGCS2000 椭球面积（测地线边）。"
        )


def class_pieces(
    zones: gpd.GeoDataFrame, class_field: str
) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
    """Each class's zones dissolved and cut into disjoint pieces: (pieces, class of each)."""
    check_geometry_types("the protected layer", zones.geom_type.unique(), POLYGONAL)
    pieces: list[shapely.Geometry] = []
    classes: list[object] = []
    for zone_class, group in zones.groupby(class_field, sort=True):
        merged = shapely.union_all(shapely.make_valid(group.geometry.values._data))
        split = subdivide(merged)
        pieces.extend(split)
        classes.extend([zone_class] * len(split))
    return np.array(pieces, dtype=object), np.array(classes, dtype=object)


@dataclass(frozen=True)
class Cuts:
    """Pairs (left geometry, right piece) whose interiors meet: their intersection and m²."""

    left: NDArray[np.intp]
    right: NDArray[np.intp]
    geoms: NDArray[np.object_]
    areas_m2: NDArray[np.float64]


def cut_by(
    left: NDArray[np.object_], left_m2: NDArray[np.float64], pieces: NDArray[np.object_]
) -> Cuts:
    """Each left geometry cut by the disjoint ``pieces`` it meets.

    A geometry properly inside a piece is its own intersection, with its own area: no
    overlay and no new measurement for the many parcels inside one zone or one county.
    """
    piece_idx, left_idx = shapely.STRtree(left).query(pieces, predicate="intersects")
    shapely.prepare(pieces)
    whole = shapely.contains_properly(pieces[piece_idx], left[left_idx])
    geoms, areas = left[left_idx], left_m2[left_idx]
    cut = ~whole
    geoms[cut] = shapely.intersection(geoms[cut], pieces[piece_idx[cut]])
    areas[cut] = geodesic_areas_m2(geoms[cut])
    keep = areas > 0  # edges and corners only
    return Cuts(left_idx[keep], piece_idx[keep], geoms[keep], areas[keep])


def _merge(cuts: Cuts, keys: NDArray[np.intp]) -> Cuts:
    """One geometry per key: the union of its cuts (areas add: the pieces are disjoint)."""
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    areas = np.asarray(np.bincount(inverse, weights=cuts.areas_m2), dtype=np.float64)
    geoms = cuts.geoms[first].copy()
    for group in np.flatnonzero(np.bincount(inverse) > 1):
        geoms[group] = shapely.union_all(cuts.geoms[inverse == group])
    return Cuts(cuts.left[first], cuts.right[first], geoms, areas)


def _touching(frame: gpd.GeoDataFrame, geoms: NDArray[np.object_]) -> gpd.GeoDataFrame:
    """The rows of ``frame`` that intersect any of ``geoms`` (only those are dissolved/cut).

    The frame's geometries are the query side: each is prepared once, rather than tested
    unprepared against every small parcel.
    """
    hit, _ = shapely.STRtree(geoms).query(frame.geometry.values._data, predicate="intersects")
    return frame.iloc[np.unique(hit)]


@dataclass(frozen=True)
class Overlaps:
    """``parts``: each parcel's part in each class (parcel index, class, area_m2, geometry);
    ``by_unit``: those parts split by unit (parcel, class, unit, area_m2) — the part outside
    every unit (sea, another province) has unit None."""

    parts: gpd.GeoDataFrame
    by_unit: pd.DataFrame


def overlaps_of(
    parcels: NDArray[np.object_],
    parcel_m2: NDArray[np.float64],
    zones: gpd.GeoDataFrame,
    class_field: str,
    units: gpd.GeoDataFrame,
    unit_field: str,
) -> Overlaps:
    """The parts of ``parcels`` (with their ellipsoidal m²) in each class, and by unit."""
    pieces, piece_class = class_pieces(_touching(zones, parcels), class_field)
    codes, class_code = np.unique(piece_class, return_inverse=True)
    cuts = cut_by(parcels, parcel_m2, pieces)
    merged = _merge(cuts, cuts.left * len(codes) + class_code[cuts.right])
    parts = gpd.GeoDataFrame(
        {"parcel": merged.left, "class": piece_class[merged.right], "area_m2": merged.areas_m2},
        geometry=merged.geoms,
        crs=STORAGE_CRS,
    )
    return Overlaps(parts, _by_unit(parts, units, unit_field))


def _by_unit(parts: gpd.GeoDataFrame, units: gpd.GeoDataFrame, unit_field: str) -> pd.DataFrame:
    geoms = parts.geometry.values._data
    units = _touching(units, geoms)
    part_m2 = parts["area_m2"].to_numpy()
    unit_geoms = shapely.make_valid(units.geometry.values._data)
    unit_idx, part_idx, areas = unit_parcel_areas(unit_geoms, geoms, geodesic_areas_m2, part_m2)
    keep = areas > 0  # edges and corners only
    unit_idx, part_idx, areas = unit_idx[keep], part_idx[keep], areas[keep]
    rows = pd.DataFrame(
        {
            "parcel": parts["parcel"].to_numpy()[part_idx],
            "class": parts["class"].to_numpy()[part_idx],
            "unit": units[unit_field].to_numpy()[unit_idx],
            "area_m2": areas,
        }
    )
    outside = part_m2 - np.bincount(part_idx, weights=areas, minlength=len(parts))
    beyond = outside > OUTSIDE_NOISE_M2 + 1e-9 * part_m2
    if beyond.any():
        rest = parts.loc[beyond, ["parcel", "class"]].assign(unit=None, area_m2=outside[beyond])
        rows = pd.concat([rows, pd.DataFrame(rest)], ignore_index=True)
    return rows.groupby(["parcel", "class", "unit"], dropna=False)["area_m2"].sum().reset_index()
