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


def test_migrate_creates_postgis_in_a_database_without_it(database_url: str) -> None:
    """With ONEMAP_DATABASE_URL pointing at a plain database, OneMap creates the extension."""
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = "onemap_plain_db"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    plain = make_conninfo(**(conninfo_to_dict(database_url) | {"dbname": name}))  # type: ignore[arg-type]
    try:
        with psycopg.connect(plain) as conn:
            assert (
                conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone()
                is None
            )
        assert "0001_catalog.sql" in migrate(plain)
        with psycopg.connect(plain) as conn:
            assert conn.execute("SELECT postgis_lib_version()").fetchone() is not None
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
