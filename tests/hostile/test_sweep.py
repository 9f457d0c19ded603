"""The hostile-input sweep (issue 16): every parameter of every operation in ``/api``, path
and query (WMTS KVP keys, headers and bodies: test_sweep_more.py), given SQL injection, path
traversal, NUL, malformed UTF-8, deep nesting and oversized values one at a time. Every
answer is a 4xx with a message (a free-text parameter may match nothing: 200), never a 5xx,
and no answer or header holds SQL, a traceback or a server path."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import PUBLISHER
from tests.hostile.operations import FREE_TEXT, Operation, operations
from tests.hostile.payloads import PAYLOADS, problems

SLOW_S = 20.0  # no hostile request may take this long (pg_sleep, a runaway plan)


def _api(client: TestClient) -> dict[str, Any]:
    response = client.get("/api?f=json", headers=PUBLISHER)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture(scope="module")
def every_operation(hostile: TestClient) -> list[Operation]:
    found = operations(_api(hostile))
    assert len(found) > 50, [op.name for op in found]  # the whole API, not a part of it
    return found


def _ask(client: TestClient, op: Operation, url: str, headers: dict[str, str]) -> httpx.Response:
    started = time.monotonic()
    response = client.request(op.method, url, json=op.body(), headers=headers)
    assert time.monotonic() - started < SLOW_S, f"{op.name}: {url[:200]} took too long"
    return response


def _expected_status(op: Operation, param: str, response: httpx.Response) -> str | None:
    """Why a status is wrong for a hostile value (None: it is right)."""
    status = response.status_code
    if 400 <= status < 500:
        return None
    if status < 300 and param in FREE_TEXT and param in op.query_params:
        return None  # a name that matches nothing
    return f"status {status} for a hostile value"


def test_every_parameter_of_every_operation_refuses_hostile_values(
    hostile: TestClient,
    every_operation: list[Operation],
    forbidden: tuple[str, ...],
    valid_values: dict[str, str],
) -> None:
    failures: list[str] = []
    asked = 0
    for op in every_operation:
        for param in (*op.path_params, *op.query_params):
            for name, value in PAYLOADS.items():
                response = _ask(hostile, op, op.url(param, value, valid_values), PUBLISHER)
                asked += 1
                found = problems(response, forbidden)
                wrong = _expected_status(op, param, response)
                found += [wrong] if wrong else []
                if found:
                    detail = response.text[:160].replace("\n", " ")
                    failures.append(f"{op.name} {param}={name}: {found} — {detail}")
    pairs = sum(len(op.path_params) + len(op.query_params) for op in every_operation)
    assert pairs > 100 and asked == pairs * len(PAYLOADS)  # every parameter met every value
    assert not failures, "\n".join(failures[:60]) + f"\n({len(failures)} of {asked})"
