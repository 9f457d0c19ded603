"""WMTS GetFeatureInfo: which features lie under a pixel of a tile."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from importlib import resources
from typing import Any

from psycopg import sql

from layers.catalog import Layer
from layers.features.query import AreaClip
from layers.features.render import properties_json
from layers.features.where import area_condition
from layers.platform import DATA_SCHEMA
from tiles import grids, mvt

PIXEL_TOLERANCE = 3
MAX_FEATURES = 10


def pixel_lonlat(tms_id: str, z: int, row: int, col: int, i: int, j: int) -> tuple[float, float]:
    """Longitude and latitude of the centre of pixel (i, j) of a tile."""
    x, y = grids.pixel_center(tms_id, z, row, col, i, j)
    family, _ = mvt.family_of(tms_id)
    if family is mvt.GEOGRAPHIC:
        return x, y
    radius = grids.EARTH_RADIUS_M
    return math.degrees(x / radius), math.degrees(2 * math.atan(math.exp(y / radius)) - math.pi / 2)


def feature_info_query(
    layer: Layer,
    tms_id: str,
    z: int,
    row: int,
    col: int,
    i: int,
    j: int,
    clip: AreaClip | None = None,
) -> tuple[str, dict[str, Any]]:
    """The statement and parameters of the features under pixel (i, j): only ``layer``'s
    fields (a caller's view of a layer has no internal ones), inside ``clip`` if given."""
    lon, lat = pixel_lonlat(tms_id, z, row, col, i, j)
    west, _, east, _ = grids.tile_bounds_lonlat(tms_id, z, row, col)
    template = (resources.files("tiles") / "sql" / "feature_info.sql").read_text("utf-8")
    area = sql.SQL(" AND {}").format(area_condition(sql.SQL("t.geom"), sql.SQL("%(area)s")))
    statement = sql.SQL(template).format(
        table=sql.Identifier(DATA_SCHEMA, layer.table_name),
        srid=sql.Literal(layer.storage_srid),
        properties=properties_json(layer.fields),
        clip=area if clip is not None else sql.SQL(""),
    )
    tolerance = (east - west) / mvt.TILE_PX * PIXEL_TOLERANCE
    params: dict[str, Any] = {"lon": lon, "lat": lat, "tolerance": tolerance}
    params["limit"] = MAX_FEATURES
    if clip is not None:
        params["area"] = clip.geometry
    return statement.as_string(), params


def point_feature(lon: float, lat: float, properties: dict[str, Any]) -> str:
    return json.dumps(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": properties,
        }
    )


def feature_collection(features: Sequence[str]) -> bytes:
    return ('{"type":"FeatureCollection","features":[' + ",".join(features) + "]}").encode()


def feature_html(layer: Layer, features: Sequence[str]) -> bytes:
    """A small HTML table per feature (for clients that show GetFeatureInfo as HTML)."""
    parts = [
        f"<html><head><meta charset='utf-8'><title>{html.escape(layer.title)}</title></head><body>"
    ]
    if not features:
        parts.append("<p>No feature here.</p>")
    for text in features:
        feature = json.loads(text)
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in (feature.get("properties") or {}).items()
        )
        parts.append(
            f"<table><caption>{html.escape(layer.id)} {feature.get('id')}</caption>{rows}</table>"
        )
    parts.append("</body></html>")
    return "".join(parts).encode()
