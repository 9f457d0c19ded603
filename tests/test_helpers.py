"""The shared test helpers fail when they should and leave nothing running."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from layers.settings import ServiceSettings
from tests.helpers.live import RequestSpy, live_server
from tests.helpers.wait import wait_for


def test_wait_for_returns_the_first_truthy_value() -> None:
    answers = iter([None, 0, "", "ready"])
    assert wait_for(lambda: next(answers), "never", timeout=5, interval=0) == "ready"


def test_wait_for_fails_with_its_message_after_the_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"the thing never happened \(waited 0.2 s\)"):
        wait_for(lambda: False, "the thing never happened", timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 2


def test_wait_for_builds_a_late_message_from_the_last_attempt() -> None:
    attempts: list[int] = []
    with pytest.raises(AssertionError) as failed:
        wait_for(
            lambda: attempts.append(1),  # type: ignore[func-returns-value]
            lambda: f"{len(attempts)} attempts",
            timeout=0.1,
            interval=0.04,
        )
    assert len(attempts) >= 2 and str(failed.value).startswith(f"{len(attempts)} attempts")


def _refused(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_live_server_is_ready_spied_and_stopped(settings: ServiceSettings) -> None:
    from ogc.app import create_app

    spy = RequestSpy()
    with live_server(create_app(settings), spy=spy) as live:
        response = httpx.get(f"{live.url}/collections/gd-counties/items", params={"limit": 2})
        assert response.status_code == 200 and len(response.json()["features"]) == 2
        assert response.headers["server"] == "uvicorn"
    assert spy.items_requests("gd-counties") == [{"limit": ["2"]}]
    assert ("/readyz", {}) in spy.seen  # it waited for readiness
    assert _refused(live.port), "the server still listens after the block"
