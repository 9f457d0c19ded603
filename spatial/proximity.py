"""Nearest facilities (geodesic, KNN-indexed) and buffer zones around sensitive sites."""

from __future__ import annotations

import math
from importlib import resources
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from psycopg import sql

from layers.catalog import Layer
from layers.errors import InvalidParameter
from layers.features import table_of
from layers.platform import STORAGE_SRID
from spatial.errors import check_distance_m
from spatial.geodesy import (
    STORAGE_CRS,
    Checkpoint,
    geodesic_buffer,
    geodesic_distance_m,
    geodesic_distances_m,
)
from spatial.sqlparts import row_conditions

METRES_PER_DEGREE_LAT_MIN = 110_574.0  # meridian degree at the equator, the shortest
METRES_PER_DEGREE_LON_EQUATOR = 111_320.0


def nearest_features(frame: gpd.GeoDataFrame, lon: float, lat: float, k: int) -> gpd.GeoDataFrame:
    """The k features of ``frame`` nearest to (lon, lat), with ``distance_m`` and ``rank``."""
    distances = geodesic_distances_m(lon, lat, frame.geometry.values._data)
    order = np.argsort(distances, kind="stable")[:k]
    result = frame.iloc[order].copy()
    result["distance_m"] = distances[order]
    result["rank"] = np.arange(1, len(result) + 1)
    return result


def _candidates_sql(
    layer: Layer, lon: float, lat: float, n: int, conditions: list[sql.Composable]
) -> sql.Composed:
    template = (resources.files("spatial") / "sql" / "nearest_candidates.sql").read_text()
    body = "\n".join(line for line in template.splitlines() if not line.startswith("--"))
    columns = sql.SQL("").join(sql.SQL("{}, ").format(sql.Identifier(f.name)) for f in layer.fields)
    where = sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    return sql.SQL(body).format(
        columns=columns,
        table=table_of(layer),
        where=where,
        lon=sql.Literal(lon),
        lat=sql.Literal(lat),
        srid=sql.Literal(STORAGE_SRID),
        n=sql.Literal(n),
    )


def lower_bound_m(distance_deg: float, lat: float) -> float:
    """A lower bound of the ground distance of anything ``distance_deg`` away in lon/lat."""
    worst_lat = min(89.0, abs(lat) + distance_deg)
    per_degree = min(
        METRES_PER_DEGREE_LAT_MIN, METRES_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(worst_lat))
    )
    return distance_deg * per_degree


def nearest_in_layer(
    conn: Any,
    layer: Layer,
    lon: float,
    lat: float,
    k: int,
    within: shapely.Geometry | None = None,
    condition: sql.Composable | None = None,
    clip: bytes | None = None,
) -> gpd.GeoDataFrame:
    """KNN in PostGIS, re-ranked on the ellipsoid; widened until the answer is proven.

    ``condition`` is an extra SQL condition (a compiled CQL2 filter) on the layer's rows;
    ``clip`` the caller's areas (``Context.clip``).
    """
    conditions = row_conditions(condition, within, clip)
    n = max(4 * k, k + 16)
    while True:
        rows = conn.execute(_candidates_sql(layer, lon, lat, n, conditions)).fetchall()
        if not rows:
            raise InvalidParameter(f"facilities: '{layer.id}' has no feature matching the inputs")
        distances = sorted(float(r[-2]) for r in rows)
        exhausted = len(rows) < n
        if exhausted or distances[k - 1] <= lower_bound_m(float(rows[-1][-1]), lat):
            break
        n *= 4
    names = ["fid", *layer.field_names]
    records = [
        dict(zip(names, r[: len(names)], strict=True)) | {"distance_m": float(r[-2])} for r in rows
    ]
    geoms = shapely.from_wkb([bytes(r[len(names)]) for r in rows])
    frame = gpd.GeoDataFrame(
        records, columns=[*names, "distance_m"], geometry=geoms, crs=STORAGE_CRS
    )
    frame = frame.sort_values(["distance_m", "fid"], kind="stable").head(k)
    frame["rank"] = np.arange(1, len(frame) + 1)
    return frame.reset_index(drop=True)


def buffer_zones(
    sites: gpd.GeoDataFrame,
    distance_m: float,
    others: gpd.GeoDataFrame | None = None,
    progress: Checkpoint | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Protection zones ``distance_m`` around each site, and the features violating them.

    A violation is a feature of ``others`` whose geodesic distance to a site is at most
    ``distance_m`` (0 when it overlaps the site); it carries the site's fid and that
    distance. The zones are circumscribed polygons: they only pre-select candidates, so a
    feature at the legal distance minus a few decimetres is never left out.
    """
    check_distance_m("distance_m", distance_m)
    zones = sites.copy()
    zones["geometry"] = geodesic_buffer(sites.geometry.values._data, distance_m, progress)
    zones = gpd.GeoDataFrame(zones, geometry="geometry", crs=STORAGE_CRS)
    zones["zone_m"] = distance_m
    if others is None or others.empty:
        return zones, gpd.GeoDataFrame({"site_fid": []}, geometry=[], crs=STORAGE_CRS)
    pairs = gpd.sjoin(
        others,
        zones[["fid", "geometry"]].rename(columns={"fid": "site_fid"}),
        predicate="intersects",
        how="inner",
    )
    pairs = pairs.drop(columns="index_right")
    site_geoms = sites.set_index("fid").geometry
    distances = []
    for n, (site, geom) in enumerate(zip(pairs["site_fid"], pairs.geometry, strict=True)):
        if progress is not None and n % 256 == 0:
            progress()
        distances.append(geodesic_distance_m(site_geoms[site], geom))
    pairs["distance_m"] = distances
    pairs = pairs[pairs["distance_m"] <= distance_m]
    return zones, gpd.GeoDataFrame(
        pd.DataFrame(pairs).reset_index(drop=True), geometry="geometry", crs=STORAGE_CRS
    )
