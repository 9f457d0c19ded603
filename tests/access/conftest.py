"""API keys, quotas and the audit log against the run's real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest

from layers.access.caller import Caller
from layers.catalog_write import upsert_department

ADMIN = Caller(kind="local", subject="tester", roles=frozenset({"admin"}))
DEPARTMENTS = (
    {
        "id": "gd-nr",
        "name_zh": "广东省自然资源厅",
        "name_en": "Natural Resources",
        "level": "province",
        "adcode": "440000",
    },
    {
        "id": "gz-plan",
        "name_zh": "广州市规划和自然资源局",
        "name_en": "Guangzhou Planning",
        "level": "city",
        "adcode": "440100",
    },
)


@pytest.fixture(scope="session")
def access_url(migrated_url: str) -> str:
    """The migrated database with the departments keys are bound to."""
    with psycopg.connect(migrated_url) as conn:
        for department in DEPARTMENTS:
            upsert_department(conn, department)
    return migrated_url


@pytest.fixture
async def aconn(access_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(access_url, autocommit=True) as conn:
        yield conn
