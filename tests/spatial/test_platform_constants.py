"""One source of the platform's constants: the admin layers honour ONEMAP_ADMIN_LAYERS."""

from __future__ import annotations

import pytest

from layers.errors import InvalidParameter
from layers.platform import AdminLayers, admin_layers
from layers.settings import ServiceSettings
from spatial.context import Context


def test_default_admin_layers_are_the_guangdong_samples() -> None:
    assert admin_layers() == AdminLayers("gd-province", "gd-cities", "gd-counties")
    assert admin_layers().finest_first() == ("gd-counties", "gd-cities", "gd-province")


def test_analyses_and_within_read_the_same_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEMAP_ADMIN_LAYERS", "prov, city ,county")
    assert Context().admin_layers.for_level("county") == "county"
    assert ServiceSettings().admin == Context().admin_layers


def test_admin_layers_need_three_ids() -> None:
    with pytest.raises(InvalidParameter, match="ONEMAP_ADMIN_LAYERS needs 3 layers"):
        admin_layers("a,b")


def test_jobs_take_the_apps_admin_layers_not_the_environments(
    settings: ServiceSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job resolves ``adcode`` zones from the app's ONEMAP_ADMIN_LAYERS (here a city layer
    that does not exist), whatever the process environment says."""
    from fastapi.testclient import TestClient

    from ogc.app import create_app

    monkeypatch.setenv("ONEMAP_ADMIN_LAYERS", "gd-province,gd-cities,gd-counties")
    custom = settings.model_copy(update={"admin_layers": "gd-province,gd-no-cities,gd-counties"})
    body = {
        "inputs": {
            "raster": {"collection": "gd-dem"},
            "zones": {"collection": "gd-counties", "adcode": "440100"},
        }
    }
    with TestClient(create_app(custom)) as client:
        response = client.post("/processes/zonal-statistics/execution", json=body)
    assert response.status_code == 400, response.text[:300]
    assert "gd-no-cities" in response.json()["detail"]
