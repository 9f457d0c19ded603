"""OGC CQL2 filters (text and JSON) compiled to parameter-safe PostGIS SQL.

Serves OGC API - Features - Part 3 (``filter``, ``filter-lang``,
``filter-crs``, queryables) and, later, the processes API::

    condition = compile_filter(
        "name = '天河区' AND S_INTERSECTS(geom, BBOX(113.2, 23.0, 113.5, 23.3))",
        "cql2-text",
        queryables,
        geometry_column="geom",
        storage_srid=STORAGE_SRID,  # layers.platform
    )
    cursor.execute(sql.SQL("SELECT fid FROM {} WHERE {}").format(table, condition))

``filter-crs`` values are read by ``layers.crs.filter_crs_from_uri``.
"""

from layers.cql2.compiler import FILTER_LANGUAGES, compile_filter, parse_filter
from layers.cql2.conformance import conformance_classes
from layers.cql2.nodes import Node
from layers.cql2.query_parameters import query_parameters_filter
from layers.cql2.queryables import Queryable, QueryableType, queryables_json_schema

__all__ = [
    "FILTER_LANGUAGES",
    "Node",
    "Queryable",
    "QueryableType",
    "compile_filter",
    "conformance_classes",
    "parse_filter",
    "query_parameters_filter",
    "queryables_json_schema",
]
