"""A OneMap with the gate in use, for trying desktop clients by hand (scripts/trials/qgis_gate.py).

Run with the project's venv from the checkout::

    ONEMAP_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python scripts/trials/gate_server.py /tmp/gate-trial.json

It does what an operator does, through the command line: a fresh database (``onemap_trial_gate``
on that server), ``onemap db migrate`` and ``onemap sample load``; the county shapefile of
tests/data ingested three times for department ``trial-nr`` — public with ``city`` internal,
restricted, and the cities as internal; four keys made with ``onemap keys create`` (no role,
government, member, member limited to 440106); a loopback OIDC provider (tests/helpers/idp.py)
that signs three tokens; and ``onemap serve`` on a free loopback port. What clients need is
written to the JSON file; the server runs until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from layers.catalog_write import upsert_department  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.helpers.idp import AUDIENCE, SigningKey, identity_provider  # noqa: E402

ONEMAP = str(Path(sys.executable).with_name("onemap"))
DATABASE = "onemap_trial_gate"
DEPARTMENT = "trial-nr"
COUNTIES = ROOT / "tests/data/gbk/gd_county_cgcs2000_gk114e_gbk.shp"
CITIES = ROOT / "tests/data/gbk/gd_city_cgcs2000_gbk.shp"
LAYERS = (  # id, file, access level, internal fields
    ("trial-counties", COUNTIES, "public", "city"),
    ("trial-counties-restricted", COUNTIES, "restricted", ""),
    ("trial-cities-internal", CITIES, "internal", ""),
)
KEYS = {  # name: extra `onemap keys create` options
    "plain": [],
    "government": ["--role", "government"],
    "member": ["--role", "member"],
    "tianhe": ["--role", "member", "--area", "440106"],
}
TOKENS = {  # name: (provider roles, areas)
    "government": (["staff"], None),
    "member": (["gis-member"], None),
    "tianhe": (["gis-member"], ["440106"]),
}


def fresh_database(server: str, database: str = DATABASE) -> str:
    """``database`` on ``server``, empty: the trial's own database, made anew each run."""
    with psycopg.connect(server, autocommit=True) as admin:
        name = sql.Identifier(database)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    return make_conninfo(**(conninfo_to_dict(server) | {"dbname": database}))  # type: ignore[arg-type]


def onemap(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([ONEMAP, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"onemap {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def publish(env: dict[str, str], url: str) -> None:
    onemap(env, "db", "migrate")
    onemap(env, "sample", "load")
    with psycopg.connect(url) as conn:  # no command registers a department (noted in the report)
        upsert_department(
            conn,
            {"id": DEPARTMENT, "name_zh": "试用自然资源局", "name_en": "Trial Natural Resources",
             "level": "province", "adcode": "440000"},
        )  # fmt: skip
    for layer_id, path, level, internal in LAYERS:
        onemap(env, "ingest", str(path), "--id", layer_id, "--department", DEPARTMENT)
        onemap(env, "layers", "access", layer_id, "--level", level, "--internal-fields", internal)


def make_keys(env: dict[str, str]) -> dict[str, str]:
    secrets = {}
    for name, options in KEYS.items():
        created = onemap(
            env, "keys", "create", "--department", DEPARTMENT, "--name", name, *options, "--json"
        )
        secrets[name] = json.loads(created)["secret"]
    return secrets


def serve_env(env: dict[str, str], issuer: str) -> dict[str, str]:
    return env | {
        "ONEMAP_OIDC_ISSUER": issuer,
        "ONEMAP_OIDC_AUDIENCE": AUDIENCE,
        "ONEMAP_OIDC_ROLES_CLAIM": "realm_access.roles",
        "ONEMAP_OIDC_ROLE_MAP": "staff=government,gis-member=member",
        "ONEMAP_LOAD_SAMPLE_DATA": "false",
        "ONEMAP_ACCESS_LOG": "true",  # every request and its status, for the trial notes
    }


def wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit("onemap serve stopped while starting")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("onemap serve did not become ready in 60 s")


def main(out: Path) -> None:
    server_url = os.environ["ONEMAP_TEST_DATABASE_URL"]
    url = fresh_database(server_url)
    data_dir = tempfile.mkdtemp(prefix="onemap-trial-")
    env = os.environ | {"ONEMAP_DATABASE_URL": url, "ONEMAP_DATA_DIR": data_dir}
    env["PYTHONPATH"] = str(ROOT)  # serve this checkout's code, whatever the venv installed
    publish(env, url)
    keys = make_keys(env)
    signing = SigningKey.rsa("trial-1")
    with identity_provider(signing) as idp:
        tokens: dict[str, Any] = {}
        for name, (roles, areas) in TOKENS.items():
            claims = idp.claims(
                realm_access={"roles": roles}, dept=[DEPARTMENT], areas=areas,
                exp=int(time.time()) + 4 * 3600,
            )  # fmt: skip
            tokens[name] = signing.sign(claims)
        port = free_port()
        serve = [ONEMAP, "serve", "--host", "127.0.0.1", "--port", str(port)]
        server = subprocess.Popen(serve, env=serve_env(env, idp.issuer))
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, server)
            trial = {"url": base, "database": url, "keys": keys, "tokens": tokens}
            out.write_text(json.dumps(trial, indent=2))
            print(f"serving {base}; clients' details in {out}; Ctrl-C stops", flush=True)
            while server.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)
                server.wait(timeout=30)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop as on Ctrl-C
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/gate-trial.json"))
