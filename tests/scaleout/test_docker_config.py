"""docker/compose.yaml and docker/nginx/nginx.conf, checked without Docker: the compose
file's shape (replicas = nginx's upstreams, shared volumes, a standby fed by the primary,
the proxy the replicas trust) and nginx's own `nginx -t` on the very config, on loopback."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import free_port
from tests.helpers.balanced import NGINX_CONF, UPSTREAM_SERVER, loopback_nginx_conf, nginx_command

DOCKER = Path(__file__).resolve().parents[2] / "docker"
SHARED = {"tilecache": "/var/lib/onemap/tiles", "rasters": "/var/lib/onemap/rasters"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return loaded


def replicas(compose: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in compose["services"].items() if v.get("command") == ["onemap", "serve"]}


def test_the_replicas_are_nginxs_upstreams(compose: dict[str, Any]) -> None:
    upstreams = [f"onemap-{n}" for n in UPSTREAM_SERVER.findall(NGINX_CONF.read_text())]
    assert len(upstreams) >= 2
    assert sorted(replicas(compose)) == sorted(upstreams)
    nginx = compose["services"]["nginx"]
    assert sorted(nginx["depends_on"]) == sorted(upstreams)
    assert all(c["condition"] == "service_healthy" for c in nginx["depends_on"].values())
    assert any(mount.endswith(":/etc/nginx/nginx.conf:ro") for mount in nginx["volumes"])


def test_every_replica_shares_the_tile_cache_and_rasters_and_trusts_only_nginx(
    compose: dict[str, Any],
) -> None:
    nginx_ip = compose["services"]["nginx"]["networks"]["onemap"]["ipv4_address"]
    for name, service in replicas(compose).items():
        env = service["environment"]
        mounts = dict(volume.split(":", 1) for volume in service["volumes"])
        assert mounts == SHARED, name
        assert env["ONEMAP_TILE_CACHE_DIR"] == SHARED["tilecache"], name
        assert env["FORWARDED_ALLOW_IPS"] == nginx_ip, name
        assert env["ONEMAP_LOAD_SAMPLE_DATA"] == "false", name
        assert urlsplit(env["ONEMAP_DATABASE_URL"]).hostname == "db", name
        assert urlsplit(env["ONEMAP_READ_DATABASE_URL"]).hostname == "db-standby", name
        assert "ports" not in service, f"{name} is reached through nginx only"
    loader = compose["services"]["loader"]
    assert dict(v.split(":", 1) for v in loader["volumes"]) == SHARED  # the sample DEM


def test_the_standby_is_copied_from_the_primary_by_the_scripts_mounted(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    primary, standby = services["db"], services["db-standby"]
    assert standby["image"] == primary["image"]
    assert standby["environment"]["PRIMARY_HOST"] == "db"
    assert standby["depends_on"]["db"]["condition"] == "service_healthy"
    for service in (primary, standby):
        for mount in service["volumes"]:
            source = mount.split(":", 1)[0]
            if source.startswith("./"):
                script = DOCKER / source
                assert script.is_file(), mount
                checked = subprocess.run(["bash", "-n", str(script)], capture_output=True)
                assert checked.returncode == 0, checked.stderr.decode()
    assert "pg_basebackup" in (DOCKER / "postgres" / "standby-entrypoint.sh").read_text()
    assert "standby1" in (DOCKER / "postgres" / "primary-init.sh").read_text()


def test_every_reference_in_compose_resolves(compose: dict[str, Any]) -> None:
    services = compose["services"]
    volumes, networks = set(compose["volumes"]), set(compose["networks"])
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= set(services), name
        named = {v.split(":", 1)[0] for v in service.get("volumes", []) if v[0] not in "./"}
        assert named <= volumes, name
        assert set(service.get("networks", [])) <= networks, name


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    conf = loopback_nginx_conf([free_port(), free_port()], free_port(), tmp_path)
    checked = subprocess.run(nginx_command(conf, tmp_path, "-t"), capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "test is successful" in checked.stderr


def test_a_config_whose_replicas_changed_shape_is_refused(tmp_path: Path) -> None:
    """The loopback rewrite fails loudly rather than test a config compose does not run."""
    with pytest.raises(AssertionError, match="names replicas"):
        loopback_nginx_conf([free_port()], free_port(), tmp_path)
