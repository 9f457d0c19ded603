"""Feature queries whose bytes the database renders (OGC API - Features items).

``query`` holds the typed request, ``params`` reads query parameters into it,
``filters`` wires CQL2 and queryables, ``where``/``page`` compose the SQL from
catalog names (``sql.Identifier``) with every request value bound or quoted by
psycopg, and ``render`` writes each feature's GeoJSON text in PostGIS.
"""

from layers.crs import DEGREE_DECIMALS, METRE_DECIMALS, CrsInfo
from layers.features.query import (
    AdminArea,
    AreaClip,
    BBox,
    ItemsQuery,
    Keyset,
    SortKey,
    TimeRange,
)
from layers.features.render import GEOMETRY_COLUMN, Binder, table_of
from layers.platform import DATA_SCHEMA

__all__ = [
    "DATA_SCHEMA",
    "DEGREE_DECIMALS",
    "GEOMETRY_COLUMN",
    "METRE_DECIMALS",
    "AdminArea",
    "AreaClip",
    "BBox",
    "Binder",
    "CrsInfo",
    "ItemsQuery",
    "Keyset",
    "SortKey",
    "TimeRange",
    "table_of",
]
