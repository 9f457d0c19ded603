"""The gate beyond the OGC API paths: a layer input the caller cannot see is "no such
layer", a job whose inputs or result the caller cannot see does not exist for them, the
pygeoapi plugins are anonymous unless configured otherwise, and the command line's seeding
and exports act as a local admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pygeoapi.process.base import ProcessorExecuteError

from layers.settings import ServiceSettings
from ogc.cli.main import cli
from ogc.gate.caller import LOCAL_ADMIN
from ogc.processes.pygeoapi_plugins import BufferZonesProcessor
from tests.conftest import PUBLISHER as PUBLISHER_HEADERS
from tests.gate_fixtures import HIDDEN, PUBLIC, gate_client
from tests.helpers.wait import wait_for_job

__all__ = ["gate_client"]  # the fixture
BUFFER = "/processes/buffer-zones/execution"


def _buffer(layer_id: str) -> dict[str, Any]:
    return {
        "inputs": {"sites": {"collection": layer_id}, "distance_m": 100},
        "outputs": {"zones": {}},
    }


@pytest.mark.parametrize("layer_id", HIDDEN)
def test_a_hidden_input_layer_does_not_exist_for_anonymous(
    gate_client: TestClient, layer_id: str
) -> None:
    hidden = gate_client.post(BUFFER, json=_buffer(layer_id))
    unknown = gate_client.post(BUFFER, json=_buffer("gate-nosuch"))
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.json()["detail"] == unknown.json()["detail"].replace("gate-nosuch", layer_id)
    assert "does not exist" in hidden.json()["detail"]
    mine = gate_client.post(BUFFER, json=_buffer(layer_id), headers=PUBLISHER_HEADERS)
    assert mine.status_code == 200, mine.text
    assert len(mine.json()["features"]) == 12  # one zone per point


def _listed(client: TestClient, headers: dict[str, str]) -> set[str]:
    body = client.get("/jobs", params={"limit": 1000}, headers=headers).json()
    return {job["jobID"] for job in body["jobs"]}


@pytest.mark.parametrize("layer_id", HIDDEN)
def test_a_job_naming_a_hidden_layer_does_not_exist_for_anonymous(
    gate_client: TestClient, layer_id: str
) -> None:
    async_ = PUBLISHER_HEADERS | {"Prefer": "respond-async"}
    created = gate_client.post(BUFFER, json=_buffer(layer_id), headers=async_)
    assert created.status_code == 201, created.text
    job_id = created.json()["jobID"]
    info = wait_for_job(_As(gate_client, PUBLISHER_HEADERS), job_id)
    assert info["status"] == "successful", info
    assert layer_id in {entry["layer"] for entry in info["onemap:lineage"]}
    public = gate_client.post(BUFFER, json=_buffer(PUBLIC)).headers["x-onemap-job"]
    assert job_id in _listed(gate_client, PUBLISHER_HEADERS)
    # Anonymous jobs are nobody's to list (issue 13): reached only through their own URL.
    assert job_id not in _listed(gate_client, {}) and public not in _listed(gate_client, {})
    assert gate_client.get(f"/jobs/{public}").status_code == 200
    for suffix in ("", "/results", "/results/zones"):
        assert gate_client.get(f"/jobs/{job_id}{suffix}").status_code == 404, suffix
        mine = gate_client.get(f"/jobs/{job_id}{suffix}", headers=PUBLISHER_HEADERS)
        assert mine.status_code == 200, suffix
    assert gate_client.delete(f"/jobs/{job_id}").status_code == 404
    assert gate_client.get(f"/jobs/{job_id}", headers=PUBLISHER_HEADERS).json()["status"] == (
        "successful"
    )


class _As:
    """A client sending the same headers with every GET (for ``wait_for_job``)."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    def get(self, url: str) -> Any:
        return self.client.get(url, headers=self.headers)


def test_pygeoapi_plugins_are_anonymous_unless_told(sample_url: str, gate_client: Any) -> None:
    anonymous = BufferZonesProcessor({"name": "b", "database_url": sample_url})
    with pytest.raises(ProcessorExecuteError, match="does not exist"):
        anonymous.execute(_buffer(HIDDEN[0])["inputs"])
    media, public = anonymous.execute(_buffer(PUBLIC)["inputs"], {"zones": {}})
    assert media == "application/geo+json" and len(public["features"]) == 12
    admin = BufferZonesProcessor({"name": "b", "database_url": sample_url, "caller": "local-admin"})
    _, hidden = admin.execute(_buffer(HIDDEN[0])["inputs"], {"zones": {}})
    assert len(hidden["features"]) == 12
    with pytest.raises(ValueError, match="caller"):
        BufferZonesProcessor({"name": "b", "caller": "root"})


def test_seeding_and_exports_act_as_a_local_admin(
    settings: ServiceSettings, gate_client: Any, tmp_path: Path
) -> None:
    """Every layer may be seeded and exported; each tile is stored under the scope that
    caller sees it in: the public one for a public layer the admin sees as the public does."""
    assert settings.database_url
    env = {"ONEMAP_DATABASE_URL": settings.database_url, "ONEMAP_TILE_CACHE_DIR": str(tmp_path)}
    for layer_id in (*HIDDEN, PUBLIC, "gd-cities"):
        seeded = CliRunner().invoke(cli, ["tiles", "seed", layer_id, "--zoom", "6"], env=env)
        assert seeded.exit_code == 0, seeded.output
        target = tmp_path / f"{layer_id}.mbtiles"
        exported = CliRunner().invoke(
            cli,
            ["tiles", "export", layer_id, "--format", "mbtiles", "--zoom", "6", "-o", str(target)],
            env=env,
        )
        assert exported.exit_code == 0, exported.output
        assert target.stat().st_size > 0
    scopes = {path.parts[-3]: path.name for path in tmp_path.glob("*/v*/*")}
    assert scopes == {  # internal, restricted, public with a field the public does not read
        **{layer_id: LOCAL_ADMIN.scope for layer_id in (*HIDDEN, PUBLIC)},
        "gd-cities": "public",  # what the public requests read
    }
