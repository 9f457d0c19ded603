"""Fixtures of the access tests: key pairs and a loopback identity provider for the
bearer-token tests; the departments API keys are bound to, on the run's real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest

from layers.access.caller import Caller
from layers.access.oidc import TokenVerifier
from layers.access.oidc_settings import OidcSettings
from layers.catalog_write import upsert_department
from tests.helpers.idp import AUDIENCE, IdentityProvider, SigningKey, identity_provider


class Clock:
    """A monotonic clock the test moves by hand (the key store's refresh limits)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def rsa_key() -> SigningKey:
    return SigningKey.rsa("rsa-1")


@pytest.fixture(scope="session")
def ec_key() -> SigningKey:
    return SigningKey.ec("ec-1")


@pytest.fixture(scope="session")
def other_rsa_key() -> SigningKey:
    return SigningKey.rsa("rsa-2")


@pytest.fixture
def idp(rsa_key: SigningKey, ec_key: SigningKey) -> Iterator[IdentityProvider]:
    with identity_provider(rsa_key, ec_key) as served:
        yield served


@pytest.fixture
def clock() -> Clock:
    return Clock()


def oidc_settings(idp: IdentityProvider, **overrides: Any) -> OidcSettings:
    """Settings for ``idp`` found through its discovery document (Keycloak-style claims)."""
    values: dict[str, Any] = {
        "issuer": idp.issuer,
        "audience": AUDIENCE,
        "roles_claim": "realm_access.roles",
        "departments_claim": "dept",
        "role_map": {"gis-admin": "admin", "gis-publisher": "publisher", "staff": "government"},
    }
    values.update(overrides)
    return OidcSettings(**values)


@pytest.fixture
def verifier(idp: IdentityProvider, clock: Clock) -> TokenVerifier:
    return TokenVerifier(oidc_settings(idp), clock=clock)


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
