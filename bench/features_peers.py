"""How the features benchmark starts OneMap, TiPg and pygeoapi on the same tables.

TiPg and pygeoapi live in their own virtual environments (see bench/README.md);
each server gets the same number of uvicorn workers.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from psycopg.conninfo import conninfo_to_dict

ROOT = Path(__file__).resolve().parent.parent
TIPG_VENV = Path(os.environ.get("TIPG_VENV", "/tmp/tipg-venv"))
PYGEOAPI_VENV = Path(os.environ.get("PYGEOAPI_VENV", "/tmp/pygeoapi-venv"))


@dataclass
class Server:
    name: str
    base: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _start(name: str, args: list[str], env: dict[str, str], port: int, ready: str) -> Server:
    path = f"/tmp/features-bench-{re.sub(r'[^a-z0-9]+', '-', name).strip('-')}.log"
    log = open(path, "wb")  # noqa: SIM115 (lives with the process)
    process = subprocess.Popen(args, env={**os.environ, **env}, stdout=log, stderr=log, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + ready, timeout=5).status_code == 200:
                return Server(name, base, process)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError(f"{name} did not start; see {path}")


SERVERS = ("uvicorn",)


def start_onemap(url: str, port: int, workers: int, server: str = "uvicorn") -> Server:
    """OneMap's app served as ``onemap serve`` serves it (``ogc.server.serve.serve_http``: uvicorn
    with its one-write protocol by default) started directly because
    ``onemap serve`` would also migrate and drop orphan tables and rasters."""
    env = {
        "ONEMAP_DATABASE_URL": url,
        "ONEMAP_LOAD_SAMPLE_DATA": "false",
        "ONEMAP_MAX_LIMIT": "10000",
        "ONEMAP_POOL_MIN_SIZE": "16",
        "ONEMAP_POOL_MAX_SIZE": "16",
        "ONEMAP_LOG_LEVEL": "warning",
        "ONEMAP_HOST": "127.0.0.1",
        "ONEMAP_PORT": str(port),
        "ONEMAP_WORKERS": str(workers),
        "ONEMAP_SERVER": server,
    }
    code = (
        "import sys; from layers.settings import ServiceSettings; "
        "from ogc.server.serve import serve_http; serve_http(ServiceSettings(), sys.argv[1])"
    )
    args = [str(ROOT / ".venv/bin/python"), "-c", code, url]
    return _start(f"onemap ({server})", args, env, port, "/readyz")


def start_tipg(url: str, port: int, workers: int, tables: list[str]) -> Server:
    env = {
        "DATABASE_URL": url,
        "TIPG_DB_SCHEMAS": '["onemap_data"]',
        "TIPG_DB_TABLES": "[" + ",".join(f'"onemap_data.{t}"' for t in tables) + "]",
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        "DB_MAX_CONN_SIZE": "16",
    }
    args = [str(TIPG_VENV / "bin/uvicorn"), "tipg.main:app", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    args += ["--no-access-log"]
    return _start("tipg", args, env, port, "/collections")


def pygeoapi_config(url: str, port: int, tables: dict[str, str]) -> str:
    params = conninfo_to_dict(url)
    resources = ""
    for collection, table in tables.items():
        resources += f"""
  {collection}:
    type: collection
    title: {collection}
    description: {collection}
    keywords: [bench]
    extents:
      spatial:
        bbox: [109.6, 20.2, 117.4, 25.6]
        crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84
    providers:
      - type: feature
        name: PostgreSQL
        data:
          host: {params.get("host", "127.0.0.1")}
          port: {params.get("port", 5432)}
          dbname: {params.get("dbname")}
          user: {params.get("user")}
          password: "{params.get("password", "")}"
          search_path: [onemap_data, public]
        id_field: fid
        table: {table}_4326
        geom_field: geom
"""
    return f"""server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  limits: {{default_items: 10, max_items: 10000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: "OSM"}}
logging:
  level: ERROR
metadata:
  identification:
    title: bench
    description: bench
    keywords: [bench]
    keywords_type: theme
    terms_of_service: https://creativecommons.org/licenses/by/4.0/
    url: http://127.0.0.1
  license: {{name: CC-BY 4.0, url: "https://creativecommons.org/licenses/by/4.0/"}}
  provider: {{name: bench, url: "http://127.0.0.1"}}
  contact:
    name: bench
    position: bench
    address: bench
    city: bench
    stateorprovince: bench
    postalcode: "0"
    country: CN
    phone: "0"
    fax: "0"
    email: bench@example.org
    url: http://127.0.0.1
    hours: always
    instructions: none
    role: pointOfContact
resources:{resources}"""


def start_pygeoapi(url: str, port: int, workers: int, tables: dict[str, str]) -> Server:
    config = Path("/tmp/features-bench-pygeoapi.yml")
    openapi = Path("/tmp/features-bench-pygeoapi-openapi.yml")
    config.write_text(pygeoapi_config(url, port, tables))
    env = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    subprocess.run(
        [str(PYGEOAPI_VENV / "bin/pygeoapi"), "openapi", "generate", str(config),
         "--output-file", str(openapi)],
        env={**os.environ, **env}, check=True, capture_output=True,
    )  # fmt: skip
    args = [str(PYGEOAPI_VENV / "bin/uvicorn"), "pygeoapi.starlette_app:APP", "--host"]
    args += ["127.0.0.1", "--port", str(port), "--workers", str(workers)]
    args += ["--log-level", "warning", "--no-access-log"]
    return _start("pygeoapi", args, env, port, "/collections")
