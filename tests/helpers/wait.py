"""Polling with a deadline: the one loop the tests use to wait for something to happen.

The catalog reaches every app through LISTEN/NOTIFY, a job runs in the background, a
server starts in a thread: each test waits for it here, with a time limit and a message
that says what never happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class _Response(Protocol):
    @property
    def status_code(self) -> int: ...


class HttpGetter(Protocol):
    """A TestClient or an ``httpx.Client`` (with a base URL): anything with ``get(path)``."""

    def get(self, url: str) -> _Response: ...


def wait_for(
    condition: Callable[[], T | None],
    message: str | Callable[[], str],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
) -> T:
    """Call ``condition`` until it returns something truthy, and return that; fail with
    ``message`` (or what it returns, for a message about the last attempt) once
    ``timeout`` seconds have passed without it."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() >= deadline:
            text = message if isinstance(message, str) else message()
            raise AssertionError(f"{text} (waited {timeout:g} s)")
        time.sleep(interval)
    return result


def wait_for_layer(client: HttpGetter, layer_id: str, *, timeout: float = 10.0) -> None:
    """Wait until the app's catalog serves ``/collections/{layer_id}`` (it learns of a new
    layer through LISTEN/NOTIFY, a moment after the commit)."""
    wait_for(
        lambda: client.get(f"/collections/{layer_id}").status_code == 200,
        f"{layer_id} never appeared in the catalog",
        timeout=timeout,
    )


def wait_for_layer_gone(client: HttpGetter, layer_id: str, *, timeout: float = 10.0) -> None:
    """Wait until ``/collections/{layer_id}`` is a 404 (the layer was removed)."""
    wait_for(
        lambda: client.get(f"/collections/{layer_id}").status_code == 404,
        f"{layer_id} stayed in the catalog",
        timeout=timeout,
    )


class _JsonResponse(_Response, Protocol):
    def json(self) -> Any: ...


class JsonGetter(Protocol):
    def get(self, url: str) -> _JsonResponse: ...


def wait_for_job(client: JsonGetter, job_id: str, timeout: float = 60) -> dict[str, Any]:
    """Wait until the job is no longer accepted or running; return its status document."""

    def finished() -> dict[str, Any] | None:
        info: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        return None if info["status"] in ("accepted", "running") else info

    return wait_for(finished, f"job {job_id} did not finish", timeout=timeout, interval=0.1)
