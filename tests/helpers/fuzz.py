"""Schemathesis against a live OneMap: every operation of ``/api``, every check.

``fuzz(url, …)`` loads the served OpenAPI document, runs schemathesis' engine (examples,
coverage, fuzzing and stateful phases) with all its checks and returns the distinct
failures — a check that failed on an operation, or a request that broke (a reset
connection, a timeout). The bounded test (``tests/test_fuzz_api.py``) and the longer run
(``bench/fuzz.py``) share it. Writes land in ``scratch``: every operation with a
``collectionId`` other than reads is pointed at that throw-away collection, so a run never
deletes or edits the layers it reads.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any

import httpx
import orjson
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from layers.webhooks import targets
from tests.helpers.wait import wait_for

PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Operations whose valid values follow a grammar, a rule across fields or a reference to
# existing data that JSON Schema cannot state: a schema-valid request may still be a 400
# naming the value (ADR 0018). Every other operation must accept schema-valid requests.
GRAMMAR_BOUND: dict[str, str] = {
    "^/collections/[^/]+/items$": "filter is CQL2, datetime RFC 3339, after/before page "
    "tokens; filter-lang/filter-crs need a filter; sortby/properties name the layer's fields",
    "^/admin/audit$": "since must be before until",
    "^/admin/keys$": "department must be registered; expiresAt in the future",
    "^/search$": "adcode must name an existing administrative unit",
    "^/admin/subscriptions$": "either layer or layersOf; url must resolve to an allowed network",
    "^/admin/layers/": "at least one setting; a rollback's version must exist before the current",
    "^/collections/[^/]+/(editing|batch|items/)": "bodies are GeoJSON features whose "
    "geometry lies in the service area and whose fields follow the layer's editing rules",
    "^/processes/": "inputs follow the process's own description (/processes/{id})",
    "^/ingest$": "the file must be a readable geodata file",
    "^/wmts": "layer, style, format and matrix follow the capabilities document",
}


# positive_data_acceptance's own list (schemathesis' default) plus the 400 of a grammar, and
# an edit's preconditions: 428 when none is sent where the layer requires one, 412 when it no
# longer holds (state, not schema: RFC 6585, RFC 9110 §13.1)
ACCEPTED = ["2xx", "3xx", "400", "401", "403", "404", "409", "412", "422", "428", "429", "5xx"]
# negative_data_rejection's own list plus 413: a body over a declared maxItems (a batch of
# more than 1000 operations) is too large, and says so
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
REJECTED += ["5xx"]
# OGC API – Features /req/core/fc-limit-response-1: a limit above the maximum "SHALL NOT
# result in an error" but is clamped; the maximum stays in the schema (clients size their
# pages from it), so accepting such a request is the standard's rule, not a failure.
CLAMPED = re.compile(r"parameter `limit` in query.*(maximum|greater than)", re.DOTALL)


@dataclass(frozen=True)
class Failure:
    check: str  # schemathesis' code and title, e.g. "ST101 Server error"
    operation: str  # "GET /collections/{collectionId}"
    detail: str


@dataclass
class Outcome:
    failures: dict[tuple[str, str], Failure] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)  # network errors, engine errors
    cases: int = 0

    def by_check(self) -> Counter[str]:
        return Counter(f.check for f in self.failures.values())

    def report(self) -> str:
        lines = [f"{self.cases} test cases, {len(self.failures)} distinct failures, "
                 f"{len(self.broken)} broken requests"]  # fmt: skip
        lines += [f"  {count:4d}  {check}" for check, count in self.by_check().most_common()]
        lines += [f"- {f.check} on {f.operation}: {f.detail}" for f in self.failures.values()]
        lines += [f"- broken: {text[:300]}" for text in self.broken]
        return "\n".join(lines)


@contextmanager
def loopback_only() -> Iterator[None]:
    """Webhook hosts the fuzzer makes up are not looked up in DNS: only address literals
    resolve (the app under test is also run with delivery off), so a run sends nothing
    beyond 127.0.0.1."""

    async def literal_only(host: str, port: int) -> list[Any]:
        try:
            return [ip_address(host)]
        except ValueError:
            refused = f"the webhook host {host[:100]!r} does not resolve"
            raise targets.TargetRefused(refused) from None

    original = targets._addresses
    targets._addresses = literal_only
    try:
        yield
    finally:
        targets._addresses = original


EDITING_SWITCH = "^/collections/[^/]+/editing$"
# Each process's own execution (its inputs' schemas in /api), within the CI budget: the
# coverage phase sends only schema-valid boundary values there (5e-324 for a cell size > 0:
# ~950 requests for 25 processes, not ~3,500 with the negative ones, which the substitution
# test sends per input, tests/spatial/test_fuzz_processes.py); no random fuzzing (~125
# requests of made-up layer names, 400s all)
PROCESS_EXECUTION = "^/processes/[^/{]+/execution$"


def toggle_of(scratch: str) -> str:
    return f"{scratch}-switch"


def scratch_collection(url: str, token: str, layer_id: str) -> None:
    """The throw-away collection the run's writes go to, and the one its editing switch
    flips (``toggle_of``)."""
    for name in (layer_id, toggle_of(layer_id)):
        _editable_points(url, token, name)


def _editable_points(url: str, token: str, layer_id: str) -> None:
    """Publish a three-point layer through ``POST /ingest`` and open it for editing."""
    points = [{"type": "Feature", "properties": {"name": f"p{i}", "n": i},
               "geometry": {"type": "Point", "coordinates": [113.2 + i / 100, 23.1]}}
              for i in range(3)]  # fmt: skip
    body = orjson.dumps({"type": "FeatureCollection", "features": points})
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=auth, timeout=60) as client:
        files = {"file": (f"{layer_id}.geojson", body, "application/geo+json")}
        published = client.post("/ingest", files=files, data={"id": layer_id, "title": layer_id})
        assert published.status_code in (200, 201), published.text
        seen = f"/collections/{layer_id}"  # the catalog change arrives by LISTEN/NOTIFY
        wait_for(lambda: client.get(seen).status_code == 200, f"{layer_id} was not published")
        opened = client.put(f"/collections/{layer_id}/editing", json={"editable": True})
        assert opened.status_code == 200, opened.text


def fuzz(
    url: str,
    *,
    token: str,
    scratch: str,
    max_examples: int,
    seed: int,
    max_time: int | None = None,
    workers: int = 1,
    strict: bool = False,
) -> Outcome:
    """Run every phase and check against ``url`` as the publisher (``token``); ``strict``:
    no 400 is accepted for schema-valid data, not even on ``GRAMMAR_BOUND`` operations."""
    settings = _config(token, scratch, max_examples, seed, workers, max_time)
    if strict:
        settings["operations"] = settings["operations"][-2:]  # only the scratch redirections
    config = SchemathesisConfig.from_dict(settings)
    schema = schemathesis.openapi.from_url(f"{url}/api", config=config)
    outcome = Outcome()
    for event in from_schema(schema).execute():
        _record(event, outcome)
    return outcome


def _config(
    token: str, scratch: str, max_examples: int, seed: int, workers: int, max_time: int | None
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "seed": seed,
        "workers": workers,
        "headers": {"Authorization": f"Bearer {token}"},
        "request-timeout": 30,
        "checks": {
            "enabled": True,
            "negative_data_rejection": {"expected-statuses": REJECTED},
        },
        "generation": {"max-examples": max_examples},
        "phases": {name: {"enabled": True} for name in PHASES},
        "operations": [
            *(
                {
                    "include-path-regex": path,
                    "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
                }
                for path in GRAMMAR_BOUND
            ),
            {
                "include-path-regex": PROCESS_EXECUTION,
                "phases": {
                    "coverage": {"generation": {"mode": "positive"}},
                    "fuzzing": {"enabled": False},
                },
            },
            {  # a schema-valid ``{"editable": false}`` would close the scratch collection
                # to every later edit (405): the editing switch has a collection of its own
                "include-path-regex": EDITING_SWITCH,
                "parameters": {"collectionId": toggle_of(scratch)},
            },
            {  # writes and admin changes only ever touch the throw-away collection
                "include-method-regex": "^(POST|PUT|PATCH|DELETE)$",
                "exclude-path-regex": EDITING_SWITCH,
                "parameters": {"collectionId": scratch},
            },
        ],
    }
    if max_time is not None:
        config["max-time"] = max_time
    return config


def _record(event: events.EngineEvent, outcome: Outcome) -> None:
    if isinstance(event, events.NonFatalError | events.FatalError):
        outcome.broken.append(f"{getattr(event, 'label', 'engine')}: {_error_text(event)}")
    recorder = getattr(event, "recorder", None)
    if not isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
        return
    assert recorder is not None
    outcome.cases += len(recorder.cases)
    for checks in recorder.checks.values():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                found = check.failure_info.failure
                if found.code == "ST201" and CLAMPED.search(found.message):
                    continue
                name = f"{found.code} {found.kind_title}"
                operation = found.operation or recorder.label
                detail = f"{found.message} | {check.failure_info.code_sample}"
                outcome.failures.setdefault((name, operation), Failure(name, operation, detail))


def _error_text(event: events.EngineEvent) -> str:
    value = getattr(event, "value", None) or getattr(event, "exception", None)
    return f"{type(value).__name__}: {value}"
