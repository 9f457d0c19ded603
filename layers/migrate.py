"""Apply the numbered plain-SQL migrations in ``layers/migrations``.

Each file runs once, in its own transaction, recorded in
``onemap.schema_migrations``. An advisory lock serialises concurrent starts
(several workers or replicas migrating the same database).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib import resources

import psycopg

from layers.errors import DatabaseUnavailable

log = logging.getLogger("onemap.migrate")

_LOCK_KEY = 0x0E3A9  # arbitrary constant shared by every OneMap process


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    body: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    folder = resources.files("layers") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append(Migration(number, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.number)


def ensure_postgis(conn: psycopg.Connection) -> None:
    """Create the postgis extension if it is missing and we may; else explain."""
    if _has_extension(conn, "postgis"):
        return
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.Error as exc:
        raise DatabaseUnavailable(
            "PostGIS is not available in this database and could not be created "
            f"({exc.diag.message_primary or exc}). Install it on the server "
            "(Debian: apt-get install postgresql-15-postgis-3) or ask the database "
            "owner to run CREATE EXTENSION postgis."
        ) from exc


def _has_extension(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = %s", (name,)).fetchone()
    return row is not None


def applied_migrations(conn: psycopg.Connection) -> dict[int, str]:
    conn.execute("CREATE SCHEMA IF NOT EXISTS onemap")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS onemap.schema_migrations ("
        " number integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    rows = conn.execute("SELECT number, checksum FROM onemap.schema_migrations").fetchall()
    return {number: checksum for number, checksum in rows}


def migrate(database_url: str) -> list[str]:
    """Bring the database to the newest schema; return the names applied now."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        ensure_postgis(conn)
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            return _apply_pending(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def _apply_pending(conn: psycopg.Connection) -> list[str]:
    done = applied_migrations(conn)
    applied = []
    for migration in available_migrations():
        if migration.number in done:
            if done[migration.number] != migration.checksum:
                log.warning("migration %s changed after it was applied", migration.name)
            continue
        with conn.transaction():
            conn.execute(migration.body.encode())  # trusted file shipped with the package
            conn.execute(
                "INSERT INTO onemap.schema_migrations (number, name, checksum) VALUES (%s, %s, %s)",
                (migration.number, migration.name, migration.checksum),
            )
        log.info("applied migration %s", migration.name)
        applied.append(migration.name)
    return applied
