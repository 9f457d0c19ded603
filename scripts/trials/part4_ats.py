"""Run the standard's executable Part 4 tests (run_ats.py) against a OneMap of this checkout.

    ONEMAP_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python scripts/trials/part4_ats.py /tmp/ogc-ats [run_ats options…]

The argument is a checkout or archive of opengeospatial/ogcapi-features (or its
``extensions/transactions/create-replace-update-delete`` folder); nothing is fetched. The
repository's current branches no longer hold ``executable-tests``: use a checkout of
commit 93158ba8 (the suite with 39 tests and ``create-building-with-id.json``). As
an operator would, the script makes a fresh database (``onemap_trial_part4``), migrates it,
publishes the test dataset (``standard/data/buildings.json``) as layer ``buildings`` with
``onemap ingest --single-parts`` (its buildings are single polygons), serves it on a
free loopback port and opens it for editing through the API (identifier field ``id``,
service area: the data's own, ``function`` required). ``run_ats.py`` sends no
credentials, so it talks to the server through a loopback relay that adds the publisher
token (as a client configured with a token would). Between conformance classes the dataset
is reloaded as a new version (``--reset-cmd``), as the ATS expects. Exit status: the ATS's.
"""

from __future__ import annotations

import http.client
import http.server
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts.trials.gate_server import fresh_database, onemap, wait_ready  # noqa: E402
from tests.conftest import free_port  # noqa: E402

ONEMAP = str(Path(sys.executable).with_name("onemap"))
DATABASE = "onemap_trial_part4"
TOKEN = "part4-trial-publisher"
SUITE = "extensions/transactions/create-replace-update-delete"


def suite_folder(given: Path) -> Path:
    for candidate in (given / SUITE, given):
        if (candidate / "executable-tests/ats/run_ats.py").is_file():
            return candidate
    raise SystemExit(f"{given}: no {SUITE}/executable-tests/ats/run_ats.py in it")


def publish(env: dict[str, str], data: Path, work: Path, generation: int) -> None:
    """``buildings.json`` as a new version of ``buildings`` (the first: a new layer). The
    copy differs in a trailing newline per generation, so ingest never calls it unchanged."""
    copy = work / "buildings.json"
    copy.write_text(data.read_text(encoding="utf-8") + "\n" * generation, encoding="utf-8")
    target = (
        ["--id", "buildings", "--title", "Buildings"]
        if generation == 0
        else ["--layer", "buildings"]
    )
    onemap(env, "ingest", str(copy), "--single-parts", *target)


class Relay(http.server.BaseHTTPRequestHandler):
    """Forwards every request to the server with the publisher token added."""

    upstream = ("127.0.0.1", 0)
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        headers["Authorization"] = f"Bearer {TOKEN}"
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        conn.request(self.command, self.path, body=body, headers=headers)
        answer = conn.getresponse()
        payload = answer.read()
        self.send_response_only(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        conn.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _forward

    def log_message(self, format: str, *args: object) -> None:
        pass


def main(given: Path, ats_options: list[str]) -> int:
    suite = suite_folder(given)
    data = suite / "standard/data/buildings.json"
    url = fresh_database(os.environ["ONEMAP_TEST_DATABASE_URL"], DATABASE)
    work = Path(tempfile.mkdtemp(prefix="onemap-part4-"))
    env = os.environ | {
        "ONEMAP_DATABASE_URL": url,
        "ONEMAP_DATA_DIR": str(work / "data"),
        "ONEMAP_PUBLISHER_TOKEN": TOKEN,
        "ONEMAP_LOAD_SAMPLE_DATA": "false",
        "PYTHONPATH": str(ROOT),
    }
    onemap(env, "db", "migrate")
    publish(env, data, work, 0)
    port = free_port()
    server = subprocess.Popen(
        [ONEMAP, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        opened = httpx.put(f"{base}/collections/buildings/editing", json=EDITING, headers=auth)
        if opened.status_code != 200:
            raise SystemExit(f"opening buildings for editing failed: {opened.text}")
        Relay.upstream = ("127.0.0.1", port)
        relay = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Relay)
        threading.Thread(target=relay.serve_forever, daemon=True).start()
        reset = f"{sys.executable} {Path(__file__).resolve()} --reset {data} {work}"
        command = [
            sys.executable,
            str(suite / "executable-tests/ats/run_ats.py"),
            "--landing-page", f"http://127.0.0.1:{relay.server_address[1]}",
            "--collection", "buildings",
            "--data-dir", str(suite / "standard/data"),
            "--reset-cmd", reset,
            *ats_options,
        ]  # fmt: skip
        return subprocess.run(command, env=env | {"ONEMAP_TRIAL_GENERATION": "1"}).returncode
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


# What the owner sets when opening the layer: the dataset's own area (Heidelberg) instead
# of the default Guangdong, and its source identifiers as the feature ids.
EDITING = {
    "editable": True,
    "serviceArea": [8.6, 49.35, 8.8, 49.45],
    "idField": "id",
    "required": ["function"],
    "additionalProperties": True,  # its update adds 'owner'
}


def reset(data: Path, work: Path) -> None:
    """``--reset``: reload the dataset as a new version (run by the ATS between classes)."""
    counter = work / "generation"
    generation = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(generation))
    publish(os.environ.copy(), data, work, generation)
    time.sleep(0.5)  # the server reloads on the catalog NOTIFY


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--reset":
        reset(Path(sys.argv[2]), Path(sys.argv[3]))
        sys.exit(0)
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main(Path(sys.argv[1]), sys.argv[2:]))
