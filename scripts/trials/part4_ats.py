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
is reloaded as a new version (``--reset-cmd``), as the ATS expects.

It runs two deployments of the same database, as the suite's own ``run-tests.sh`` does:
OneMap as configured (Part 2 declared) for the whole suite, then with
``ONEMAP_CRS_BY_REFERENCE=false`` (CRS84 only, no Part 2, ADR 0022) for
``/conf/features/crs84``, whose condition is a declaration without Part 2. It prints
each test's status in each and their union (passed where it passed in one); exit status
1 when a test failed in either.
"""

from __future__ import annotations

import http.client
import http.server
import os
import re
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


# The two deployments: OneMap as configured (Part 2 declared), then with
# ONEMAP_CRS_BY_REFERENCE=false for /conf/features/crs84, whose condition is a declaration
# without Part 2 — as the suite's own run-tests.sh does with a second API.
PASSES = (
    ("crs-by-reference", {}, []),
    ("crs84-only", {"ONEMAP_CRS_BY_REFERENCE": "false"}, ["--only", "/conf/features/crs84"]),
)
RESULT = re.compile(r"^\s+(PASS|FAIL|ERROR|SKIP) (/conf/\S+)$")


def main(given: Path, ats_options: list[str]) -> int:
    suite = suite_folder(given)
    data = suite / "standard/data"
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
    publish(env, data / "buildings.json", work, 0)
    results: dict[str, dict[str, str]] = {}
    for name, extra, options in PASSES:
        print(f"\n=== {name} ===", flush=True)
        for test_id, status in run_pass(env | extra, suite, work, [*ats_options, *options]):
            results.setdefault(test_id, {})[name] = status
    return report(results)


def run_pass(
    env: dict[str, str], suite: Path, work: Path, options: list[str]
) -> list[tuple[str, str]]:
    """One deployment served and opened for editing, the ATS run against it through the
    relay: each test's (id, status) as the ATS printed it."""
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
        data = suite / "standard/data"
        reset = (
            f"{sys.executable} {Path(__file__).resolve()} --reset {data / 'buildings.json'} {work}"
        )
        command = [
            sys.executable,
            str(suite / "executable-tests/ats/run_ats.py"),
            "--landing-page", f"http://127.0.0.1:{relay.server_address[1]}",
            "--collection", "buildings",
            "--data-dir", str(data),
            "--reset-cmd", reset,
            *options,
        ]  # fmt: skip
        ats = subprocess.run(command, env=env, capture_output=True, text=True)
        print(ats.stdout, ats.stderr, sep="", flush=True)
        relay.shutdown()
        return [m.groups()[::-1] for m in map(RESULT.match, ats.stdout.splitlines()) if m]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def report(results: dict[str, dict[str, str]]) -> int:
    """Each test's status in each deployment and the union: passed where it passed in one,
    failed where it failed in one (a failure anywhere counts), else skipped."""
    names = [name for name, _, _ in PASSES]
    print(f"\n{'test':<72}" + "".join(f"{n:<18}" for n in names))
    union: dict[str, str] = {}
    for test_id, by_pass in results.items():
        statuses = set(by_pass.values())
        failed = statuses & {"FAIL", "ERROR"}
        union[test_id] = "FAIL" if failed else "PASS" if "PASS" in statuses else "SKIP"
        print(f"{test_id:<72}" + "".join(f"{by_pass.get(n, '-'):<18}" for n in names))
    counts = {s: sum(1 for v in union.values() if v == s) for s in ("PASS", "FAIL", "SKIP")}
    print(
        f"\nUnion of both deployments: {counts['PASS']} passed, {counts['FAIL']} failed, "
        f"{counts['SKIP']} skipped (of {len(union)} tests)"
    )
    return 1 if counts["FAIL"] else 0


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
