"""Change between two versions of a layer: the land-use transition matrix (土地利用转移矩阵)
and what was added inside protected zones.

Areas are ellipsoidal, as the 国土调查 rules prescribe: the equal-area projection of the
CGCS2000 ellipsoid keeps area exactly, and edges densified to 0.01° (about 1 km) first follow
the geodesics to within 1e-7 of a parcel's area (``geodesy.geodesic_area_km2``, one geometry
at a time, is the reference; this is vectorised). A categorical layer is taken to be a
partition (parcels do not overlap). Land of version A that version B does not cover goes to
the column ``ABSENT``, and B's new land to the row ``ABSENT``, so each row sums to A's class
total and each column to B's.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from spatial.geodesy import area_km2

ABSENT = "(absent)"
WHOLE = "all"  # the unit of a matrix without units
Checkpoint = Callable[[], None]
Floats = NDArray[np.float64]


DENSIFY_DEG = 0.01


def _areas(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    return area_km2(shapely.segmentize(geoms, DENSIFY_DEG))


def in_units(
    frame: gpd.GeoDataFrame, units: gpd.GeoDataFrame | None, unit_field: str
) -> tuple[NDArray[np.object_], NDArray[np.str_], NDArray[np.str_]]:
    """Each feature's pieces in each unit: (geometries, class values, unit ids)."""
    geoms = frame.geometry.to_numpy()
    classes = frame["value"].astype(str).to_numpy()
    if units is None:
        return geoms, classes, np.full(len(geoms), WHOLE)
    unit_geoms = units.geometry.to_numpy()
    left, right = shapely.STRtree(unit_geoms).query(geoms, predicate="intersects")
    cut = shapely.intersection(geoms[left], unit_geoms[right])
    polygonal = shapely.area(cut) > 0
    ids = units[unit_field].astype(str).to_numpy()
    return cut[polygonal], classes[left][polygonal], ids[right][polygonal]


def transitions(
    a: gpd.GeoDataFrame,
    b: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame | None = None,
    unit_field: str = "adcode",
    checkpoint: Checkpoint | None = None,
) -> pd.DataFrame:
    """Rows of unit, from_class, to_class, area_km2 (zero rows left out)."""
    ga, ca, ua = in_units(a, units, unit_field)
    gb, cb, ub = in_units(b, units, unit_field)
    left, right = shapely.STRtree(gb).query(ga, predicate="intersects")
    same = ua[left] == ub[right]
    left, right = left[same], right[same]
    km2 = np.empty(len(left))
    for start in range(0, len(left), CHUNK):
        if checkpoint is not None:
            checkpoint()
        i, j = left[start : start + CHUNK], right[start : start + CHUNK]
        km2[start : start + CHUNK] = _areas(shapely.intersection(ga[i], gb[j]))
    inner = _frame(ua[left], ca[left], cb[right], km2).groupby(KEYS, as_index=False).sum()
    left_a = _rest(_frame(ua, ca, np.full(len(ca), ABSENT), _areas(ga)), inner, "from_class")
    came_b = _rest(_frame(ub, np.full(len(cb), ABSENT), cb, _areas(gb)), inner, "to_class")
    rows = pd.concat([inner, left_a, came_b], ignore_index=True)
    return rows[rows["area_km2"] > 0].sort_values(KEYS, ignore_index=True)


CHUNK = 4096  # intersections between two checkpoints
KEYS = ["unit", "from_class", "to_class"]


def _frame(
    unit: NDArray[np.str_], was: NDArray[np.str_], now: NDArray[np.str_], km2: Floats
) -> pd.DataFrame:
    return pd.DataFrame({"unit": unit, "from_class": was, "to_class": now, "area_km2": km2})


def _rest(totals: pd.DataFrame, inner: pd.DataFrame, side: str) -> pd.DataFrame:
    """A version's class totals less what the other version covers of them: land that
    left (``side`` from_class) or came (to_class); float rounding is no land."""
    total = totals.groupby(KEYS, as_index=False).sum()
    covered = inner.groupby(["unit", side])["area_km2"].sum()
    index = pd.MultiIndex.from_frame(total[["unit", side]])
    rest = total["area_km2"].to_numpy() - covered.reindex(index, fill_value=0.0).to_numpy()
    total["area_km2"] = np.where(rest > 1e-9 * np.maximum(total["area_km2"], 1.0), rest, 0.0)
    return total


def matrix(rows: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """unit -> from_class -> to_class -> km²: the matrix of each unit."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for unit, was, now, km2 in rows.itertuples(index=False):
        out.setdefault(unit, {}).setdefault(was, {})[now] = float(km2)
    return out


def added_in_zones(
    a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, zones: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Version B's land that version A did not have, inside the zones: one row per B feature
    and zone, ``change`` 'new' (the feature meets no A feature) or 'grown'."""
    ga, gb = a.geometry.to_numpy(), b.geometry.to_numpy()
    zone_geoms = zones.geometry.to_numpy()
    tree_a = shapely.STRtree(ga)
    near, zone = shapely.STRtree(zone_geoms).query(gb, predicate="intersects")
    records = []
    for i, z in zip(near, zone, strict=True):
        before = ga[tree_a.query(gb[i], predicate="intersects")]
        overlap = shapely.union_all(shapely.intersection(before, gb[i])) if len(before) else None
        new = overlap is None or overlap.area == 0
        grown = gb[i] if new else shapely.difference(gb[i], shapely.union_all(before))
        inside = shapely.intersection(grown, zone_geoms[z])
        if inside.is_empty or (gb[i].area > 0 and inside.area == 0):
            continue
        records.append(
            {
                "fid": int(b["fid"].iloc[i]),
                "zone_fid": int(zones["fid"].iloc[z]),
                "change": "new" if new else "grown",
                "area_km2": float(_areas(np.array([inside]))[0]),
                "geometry": inside,
            }
        )
    columns = ["fid", "zone_fid", "change", "area_km2", "geometry"]
    return gpd.GeoDataFrame(records, columns=columns, geometry="geometry", crs=b.crs)
