"""The app as the identify tests see it: OIDC configured against a loopback identity
provider, the gate's internal/restricted/public layers published, and API keys created in
the run's real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from layers.access.keys import ApiKey, KeySpec, create_key, revoke_key
from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.access.conftest import ADMIN, oidc_settings
from tests.conftest import PUBLISHER as PUBLISHER_HEADERS
from tests.gate_fixtures import DEPARTMENT, HIDDEN, PUBLIC, publish_gate_layers
from tests.helpers.idp import IdentityProvider, SigningKey, identity_provider
from tests.helpers.wait import wait_for
from tests.tiles.helpers import tile_at

ROLE_MAP = {"staff": "government", "member": "member", "gis-admin": "admin"}
ROW, COL = tile_at("WebMercatorQuad", 8)
TILE = f"/collections/{PUBLIC}/tiles/WebMercatorQuad/8/{ROW}/{COL}"


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    return SigningKey.rsa("identify-1")


@pytest.fixture(scope="module")
def id_idp(signing_key: SigningKey) -> Iterator[IdentityProvider]:
    with identity_provider(signing_key) as served:
        yield served


def identify_settings(
    settings: ServiceSettings, idp: IdentityProvider, tiles: Any
) -> ServiceSettings:
    oidc = oidc_settings(idp, role_map=ROLE_MAP)
    return settings.model_copy(update={"oidc": oidc, "tile_cache_dir": tiles})


@pytest.fixture(scope="module")
def id_settings(
    settings: ServiceSettings, id_idp: IdentityProvider, tmp_path_factory: pytest.TempPathFactory
) -> ServiceSettings:
    return identify_settings(settings, id_idp, tmp_path_factory.mktemp("identify-tiles"))


@pytest.fixture(scope="module")
def id_client(id_settings: ServiceSettings, sample_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(id_settings)) as client:
        publish_gate_layers(sample_url)
        for layer_id in (*HIDDEN, PUBLIC):
            url = f"/collections/{layer_id}"
            wait_for(
                lambda url=url: client.get(url, headers=PUBLISHER_HEADERS).status_code == 200,
                f"{url} never appeared for the publisher",
            )
        yield client


def token(idp: IdentityProvider, key: SigningKey, *roles: str, **claims: Any) -> dict[str, str]:
    """Authorization headers with a token of ``roles`` in the gate's department."""
    body = idp.claims(realm_access={"roles": list(roles)}, dept=[DEPARTMENT], **claims)
    return {"Authorization": f"Bearer {key.sign(body)}"}


def new_key(url: str, **spec: Any) -> tuple[ApiKey, str]:
    """A key of the gate's department in the database (``spec``: ``KeySpec`` fields)."""

    async def create() -> tuple[ApiKey, str]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await create_key(conn, KeySpec(DEPARTMENT, "identify test", **spec), ADMIN)

    return asyncio.run(create())


def revoke(url: str, key: ApiKey) -> None:
    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await revoke_key(conn, key.id, ADMIN)

    asyncio.run(run())


def denials(url: str, subject: str | None, status: int) -> int:
    """The ``request.denied`` count the audit log holds for a caller and status."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT COALESCE(sum((detail->>'count')::bigint), 0) FROM onemap.audit_log "
            "WHERE operation = 'request.denied' AND actor_subject IS NOT DISTINCT FROM %s "
            "AND (detail->>'status')::int = %s",
            (subject, status),
        ).fetchone()
    assert row is not None
    return int(row[0])


def restricted_reads(url: str, subject: str, layer_id: str) -> int:
    """The reads of a restricted layer the audit counted for a caller."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT COALESCE(sum(count), 0) FROM onemap.audit_reads "
            "WHERE actor_subject = %s AND layer_id = %s",
            (subject, layer_id),
        ).fetchone()
    assert row is not None
    return int(row[0])


def flush(client: TestClient) -> None:
    service = client.app.state.onemap.access  # type: ignore[attr-defined]
    client.portal.call(service.flush)
