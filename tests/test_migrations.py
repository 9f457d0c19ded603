"""Migrations apply to an empty database, are idempotent and create the catalog."""

from __future__ import annotations

import psycopg

from layers.migrate import available_migrations, migrate


def test_migrations_are_numbered_uniquely() -> None:
    numbers = [m.number for m in available_migrations()]
    assert numbers == sorted(set(numbers))
    assert numbers[0] == 1


def test_migrate_twice_applies_nothing_the_second_time(migrated_url: str) -> None:
    assert migrate(migrated_url) == []
    with psycopg.connect(migrated_url) as conn:
        applied = conn.execute("SELECT count(*) FROM onemap.schema_migrations").fetchone()
        assert applied is not None and applied[0] == len(available_migrations())


def test_catalog_tables_exist(migrated_url: str) -> None:
    with psycopg.connect(migrated_url) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'onemap'"
            )
        }
        postgis = conn.execute("SELECT postgis_lib_version()").fetchone()
    assert {"layers", "layer_versions", "departments", "schema_migrations"} <= tables
    assert postgis is not None


def test_layer_ids_must_be_url_safe(migrated_url: str) -> None:
    with psycopg.connect(migrated_url) as conn:
        try:
            conn.execute(
                "INSERT INTO onemap.layers (id, title_zh, title_en, level, adcode) "
                "VALUES ('Bad Id/1', 't', 't', 'county', '440106')"
            )
        except psycopg.errors.CheckViolation:
            conn.rollback()
        else:
            raise AssertionError("a layer id with spaces and slashes was accepted")
