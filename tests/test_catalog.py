"""The catalog round-trips every field and keeps earlier versions."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from psycopg import sql

from layers.catalog import FieldInfo, load_catalog
from layers.catalog_write import upsert_department
from tests.helpers.catalog import fixture_meta, register_table

FIELDS = [
    FieldInfo("adcode", "string", "ADCODE", "行政区划代码"),
    FieldInfo("pop", "integer", "人口", "人口"),
]


META = fixture_meta(
    "roundtrip",
    "天河区学校",
    "Tianhe schools",
    description_zh="描述",
    description_en="Description",
    level="county",
    adcode="440106",
    department_id="gz-nr",
    keywords=["学校", "schools"],
    license="CC-BY-4.0",
    attribution="© 天河区",
    access_level="internal",
    metadata={"note": "测试"},
)
DEPARTMENT = {
    "id": "gz-nr",
    "name_zh": "广州市规划和自然资源局",
    "name_en": "Guangzhou Planning and Natural Resources Bureau",
    "level": "city",
    "adcode": "440100",
}


def _publish(conn: psycopg.Connection, version: int) -> None:
    table = f"roundtrip_v{version}"
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} (fid bigint PRIMARY KEY, adcode text, pop bigint, "
            "geom geometry(MultiPolygon, 4490))"
        ).format(sql.Identifier("onemap_data", table))
    )
    published = register_table(
        conn,
        META,
        table,
        FIELDS,
        "MultiPolygon",
        extent=[113.1, 22.9, 113.6, 23.4],
        feature_count=7,
        temporal_start=datetime(2024, 1, 1, tzinfo=UTC),
        temporal_end=datetime(2024, 12, 31, tzinfo=UTC),
        temporal_field="observed",
        source_sha256="abc",
        lineage={"source": "x.shp"},
    )
    assert published == version


def test_every_catalog_field_round_trips(migrated_url: str) -> None:
    with psycopg.connect(migrated_url) as conn:
        upsert_department(conn, DEPARTMENT)
        _publish(conn, 1)
        _publish(conn, 2)
        conn.commit()
        layer = load_catalog(conn).get("roundtrip")
        versions = conn.execute(
            "SELECT count(*) FROM onemap.layer_versions WHERE layer_id = 'roundtrip'"
        ).fetchone()
        conn.execute("DELETE FROM onemap.layers WHERE id = 'roundtrip'")
        conn.execute("DROP TABLE onemap_data.roundtrip_v1, onemap_data.roundtrip_v2")
        conn.commit()

    assert versions is not None and versions[0] == 2, "earlier versions are kept"
    assert (layer.title_zh, layer.title_en) == ("天河区学校", "Tianhe schools")
    assert (layer.description_zh, layer.description_en) == ("描述", "Description")
    assert (layer.level, layer.adcode) == ("county", "440106")
    assert (layer.department_id, layer.department_name) == ("gz-nr", "广州市规划和自然资源局")
    assert layer.keywords == ("学校", "schools")
    assert (layer.license, layer.attribution, layer.access_level) == (
        "CC-BY-4.0",
        "© 天河区",
        "internal",
    )
    assert layer.metadata == {"note": "测试"}
    assert layer.version == 2 and layer.table_name == "roundtrip_v2"
    assert layer.storage_srid == 4490 and layer.geometry_type == "MultiPolygon"
    assert layer.extent == (113.1, 22.9, 113.6, 23.4)
    assert layer.temporal_start == datetime(2024, 1, 1, tzinfo=UTC)
    assert layer.temporal_end == datetime(2024, 12, 31, tzinfo=UTC)
    assert layer.temporal_field == "observed"
    assert layer.fields == tuple(FIELDS)
    assert layer.feature_count == 7
