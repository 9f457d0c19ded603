"""Callers for the internal-fields and area tests, chosen per request by a test header.

The gate's resolver is replaced on the test app's instance only (``monkeypatch``), so a test
can be any caller; production resolves callers from credentials alone."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from layers.access.caller import ANONYMOUS, Caller
from ogc.gate.caller import first_header
from ogc.http.asgi_types import Scope
from tests.gate_fixtures import DEPARTMENT, TABLE, catalog_of

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
CALLERS = {
    "government": GOVERNMENT,
    "member": MEMBER,
    "county": COUNTY_MEMBER,
    "elsewhere": ELSEWHERE_MEMBER,
}


def as_caller(name: str) -> dict[str, str]:
    return {"x-test-caller": name}


@pytest.fixture
def callers(gate_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """``gate_client`` whose requests are made by the caller their test header names."""
    resolver = gate_client.app.state.onemap.callers  # type: ignore[attr-defined]

    async def caller_of(scope: Scope) -> Caller:
        name = first_header(scope["headers"], b"x-test-caller")
        return CALLERS[name.decode()] if name else ANONYMOUS

    monkeypatch.setattr(resolver, "caller_of", caller_of)
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
