"""The app for the hostile sweep: the session's settings, its own lifespan, and a client that
gets a 500 as an answer (the session client raises server errors instead)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from layers.settings import ServiceSettings
from tests.hostile.operations import VALID
from tests.hostile.payloads import server_paths


@pytest.fixture(scope="package")
def hostile(settings: ServiceSettings) -> Iterator[TestClient]:
    from ogc.app import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="package")
def forbidden(settings: ServiceSettings) -> tuple[str, ...]:
    return server_paths(settings.data_dir)


@pytest.fixture(scope="package")
def valid_values(hostile: TestClient) -> dict[str, str]:
    """``VALID`` with a feature id the sample layer really has."""
    page = hostile.get(f"/collections/{VALID['collectionId']}/items?limit=1").json()
    return VALID | {"featureId": str(page["features"][0]["id"])}
