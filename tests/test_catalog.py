"""The catalog round-trips every field and keeps earlier versions."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from layers.catalog import FieldInfo, load_catalog

FIELDS = [
    FieldInfo("adcode", "string", "ADCODE", "行政区划代码"),
    FieldInfo("pop", "integer", "人口", "人口"),
]


def _publish(conn: psycopg.Connection, version: int) -> None:
    table = sql.Identifier("onemap_data", f"roundtrip_v{version}")
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} (fid bigint PRIMARY KEY, adcode text, pop bigint, "
            "geom geometry(MultiPolygon, 4490))"
        ).format(table)
    )
    conn.execute(
        "INSERT INTO onemap.layer_versions (layer_id, version, table_name, storage_srid, "
        "geometry_type, extent, temporal_start, temporal_end, temporal_field, field_schema, "
        "feature_count, source_sha256, lineage) VALUES ('roundtrip', %s, %s, 4490, 'MultiPolygon', "
        "%s, %s, %s, 'observed', %s, 7, 'abc', %s)",
        (
            version,
            f"roundtrip_v{version}",
            [113.1, 22.9, 113.6, 23.4],
            datetime(2024, 1, 1, tzinfo=UTC),
            datetime(2024, 12, 31, tzinfo=UTC),
            Jsonb([f.to_json() for f in FIELDS]),
            Jsonb({"source": "x.shp"}),
        ),
    )
    conn.execute("UPDATE onemap.layers SET current_version = %s WHERE id = 'roundtrip'", (version,))


def test_every_catalog_field_round_trips(migrated_url: str) -> None:
    with psycopg.connect(migrated_url) as conn:
        conn.execute(
            "INSERT INTO onemap.departments (id, name_zh, name_en, level, adcode) VALUES "
            "('gz-nr', '广州市规划和自然资源局', "
            "'Guangzhou Planning and Natural Resources Bureau', 'city', '440100') "
            "ON CONFLICT DO NOTHING"
        )
        conn.execute(
            "INSERT INTO onemap.layers (id, title_zh, title_en, description_zh, description_en, "
            "level, adcode, department_id, keywords, license, attribution, access_level, metadata) "
            "VALUES ('roundtrip', '天河区学校', 'Tianhe schools', '描述', 'Description', 'county', "
            "'440106', 'gz-nr', ARRAY['学校','schools'], 'CC-BY-4.0', '© 天河区', 'internal', %s)",
            (Jsonb({"note": "测试"}),),
        )
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
