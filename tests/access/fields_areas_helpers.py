"""Callers for the internal-fields and area tests, chosen per request by a test header.

The gate's resolver is replaced on the test app's instance only (``monkeypatch``, with the one
stand-in of ``tests.helpers.callers``), so a test can be any caller; a request without the
header is resolved as the app resolves it (anonymous)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from layers.access.caller import Caller
from tests.gate_fixtures import DEPARTMENT, TABLE, catalog_of
from tests.helpers.callers import stand_in_caller_of

GOVERNMENT = Caller(kind="user", subject="gov", roles=frozenset({"government"}))
MEMBER = Caller(
    kind="user", subject="m", departments=frozenset({DEPARTMENT}), roles=frozenset({"member"})
)
COUNTY_MEMBER = Caller(
    kind="user",
    subject="county",
    departments=frozenset({DEPARTMENT}),
    roles=frozenset({"member"}),
    areas=("440106",),
)
ELSEWHERE_MEMBER = Caller(
    kind="user",
    subject="shenzhen",
    departments=frozenset({DEPARTMENT}),
    roles=frozenset({"member"}),
    areas=("4403",),
)
TEST_CALLER = b"x-test-caller"  # the header naming the request's caller
CALLERS = {
    "government": GOVERNMENT,
    "member": MEMBER,
    "county": COUNTY_MEMBER,
    "elsewhere": ELSEWHERE_MEMBER,
}


def as_caller(name: str) -> dict[str, str]:
    return {TEST_CALLER.decode(): name}


@pytest.fixture
def callers(gate_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """``gate_client`` whose requests are made by the caller their test header names."""
    resolver = gate_client.app.state.onemap.callers  # type: ignore[attr-defined]
    stand_in = stand_in_caller_of(resolver, CALLERS, header=TEST_CALLER, prefix="")
    monkeypatch.setattr(resolver, "caller_of", stand_in)
    yield gate_client


def names_inside_tianhe(client: TestClient, url: str) -> set[str]:
    """The names of the gate table's points inside county 440106 (Tianhe), by PostGIS."""
    counties = catalog_of(client).layers["gd-counties"].table_name
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT p.name FROM onemap_data.{TABLE} p JOIN onemap_data.{counties} c "
            "ON c.adcode = '440106' AND ST_Intersects(p.geom, c.geom)"
        ).fetchall()
    return {row[0] for row in rows}
