"""Fixture layers registered the way the product registers them: files through the
real ingest, hand-built tables through ``layers.catalog_write`` (the next version reserved
under the layer's lock, the layer row and its version written by the catalog's own SQL),
never by hand-written INSERTs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from ingest.options import IngestOptions
from ingest.pipeline import ingest_file
from layers.catalog import FieldInfo
from layers.catalog_write import (
    LayerMeta,
    VersionRecord,
    make_current,
    reserve_version,
    upsert_department,
)


def register_department(
    conn: psycopg.Connection, department_id: str, name_zh: str = "", name_en: str = ""
) -> None:
    """A province-level department for fixture layers to belong to (named by its id)."""
    upsert_department(
        conn,
        {
            "id": department_id,
            "name_zh": name_zh or department_id,
            "name_en": name_en or department_id,
            "level": "province",
            "adcode": "440000",
        },
    )


def fixture_meta(layer_id: str, title_zh: str, title_en: str, **extra: Any) -> LayerMeta:
    """A province-level layer's catalog fields (override any with ``extra``)."""
    values: dict[str, Any] = {"level": "province", "adcode": "440000"} | extra
    return LayerMeta(id=layer_id, title_zh=title_zh, title_en=title_en, **values)


SAMPLE_DEM = Path(__file__).resolve().parents[2] / "ingest" / "sample" / "gd_dem_0p2deg_cnmaps.tif"


def publish_dem(database_url: str, layer_id: str, raster_dir: Path, who: str = "tests") -> None:
    """Publish the bundled DEM as the raster layer ``layer_id`` through the real ingest."""
    meta = fixture_meta(layer_id, "高程", "DEM", kind="raster")
    ingest_file(database_url, SAMPLE_DEM, meta, IngestOptions(who=who, raster_dir=raster_dir))


def register_table(
    conn: psycopg.Connection,
    meta: LayerMeta,
    table_name: str,
    fields: list[FieldInfo],
    geometry_type: str,
    **version: Any,
) -> int:
    """Publish the existing table ``onemap_data.{table_name}`` as the next version of the
    layer ``meta`` names, on the caller's transaction; returns the version number.

    ``version`` sets further ``VersionRecord`` fields (temporal ones, lineage, …); the
    extent and feature count default to what the table holds."""
    number, exists = reserve_version(conn, meta.id, expect_new=None)
    record = VersionRecord(
        layer_id=meta.id,
        version=number,
        table_name=table_name,
        fields=fields,
        geometry_type=geometry_type,
        **(_table_stats(conn, table_name) | {"lineage": {"who": "tests"}} | version),
    )
    make_current(conn, meta, record, layer_exists=exists)
    return number


def fields_from_json(items: list[dict[str, str]]) -> list[FieldInfo]:
    return [FieldInfo.from_json(item) for item in items]


def _table_stats(conn: psycopg.Connection, table_name: str) -> dict[str, Any]:
    query = sql.SQL(
        "SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)], n "
        "FROM (SELECT ST_Extent(geom) AS e, count(*) AS n FROM {}) AS stats"
    ).format(sql.Identifier("onemap_data", table_name))
    row = conn.execute(query).fetchone()
    assert row is not None
    extent, count = row
    return {"extent": extent if count else None, "feature_count": int(count)}
