"""The lifespan owns every per-app service: built in order at start-up, stopped in reverse,
threads and pool released; catalog changes reach their subscribers with no request made."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from psycopg.sql import Identifier
from psycopg_pool import AsyncConnectionPool

from layers.catalog import Catalog
from layers.settings import ServiceSettings
from layers.watch import CatalogStore
from ogc.app import create_app
from ogc.services import SERVICES
from ogc.state import AppState, cancel_all
from spatial.network import SCHEMA, network_names
from tests.helpers.wait import wait_for
from tests.spatial.test_jobs_lifecycle import REGISTRY, job_sessions

ROOT = Path(__file__).resolve().parents[1]


def state_of(client: TestClient) -> AppState:
    state: AppState = client.app.state.onemap  # type: ignore[attr-defined]
    return state


def until(check: Callable[[], object], timeout: float = 10.0) -> None:
    wait_for(check, "timed out", timeout=timeout)


def test_services_start_in_order_and_stop_in_reverse(
    settings: ServiceSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="onemap.app")
    with TestClient(create_app(settings)) as client:
        state = state_of(client)
        assert state.pool is not None and state.store is not None and state.store.loaded
        assert state.tile_producer is not None and state.tile_producer.pool is state.pool
        assert state.jobs is not None and state.jobs.registry is state.registry
        started = [m.removeprefix("service started: ") for m in caplog.messages if "started" in m]
    stopped = [m.removeprefix("service stopped: ") for m in caplog.messages if "stopped:" in m]
    names = [name for name, _ in SERVICES]
    assert names[:6] == [
        "pool",
        "read-replicas",
        "readiness",
        "admission",
        "catalog-store",
        "tile-producer",
    ]
    assert started == names
    assert stopped == names[::-1]
    assert (state.pool, state.store, state.tile_producer, state.jobs) == (None,) * 4


def test_shutdown_interrupts_jobs_joins_threads_and_closes_the_pool(
    settings: ServiceSettings, sample_url: str
) -> None:
    before = {t.ident for t in threading.enumerate()}
    with TestClient(create_app(settings, registry=REGISTRY)) as client:
        state = state_of(client)
        pool = state.pool
        job_id = client.post(
            "/processes/sleep/execution",
            json={"inputs": {"seconds": 30}},
            headers={"Prefer": "respond-async"},
        ).json()["jobID"]
        until(lambda: job_sessions(sample_url, job_id))  # running in a job thread
        assert any(t.name.startswith("onemap-job") for t in threading.enumerate())
        started = time.monotonic()
    assert time.monotonic() - started < 8, "shutdown waited for the job"
    assert pool is not None and pool.closed
    left = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert not [t.name for t in left if t.name.startswith("onemap-job")]
    assert not [t.name for t in left if not t.daemon], "a non-daemon thread outlived the app"
    with psycopg.connect(sample_url, autocommit=True) as conn:
        row = conn.execute("SELECT status, message FROM onemap.jobs WHERE id = %s", (job_id,))
        status, message = row.fetchone() or (None, None)
    assert status == "failed" and "interrupted" in message
    assert not job_sessions(sample_url, job_id)


def test_catalog_changes_reach_subscribers_without_a_request(
    settings: ServiceSettings, sample_url: str, tmp_path: Path
) -> None:
    tiles = tmp_path / "tiles"
    (tiles / "gone-layer" / "v1").mkdir(parents=True)  # a layer deleted while we were down
    app = create_app(settings.model_copy(update={"tile_cache_dir": tiles}))
    with TestClient(app) as client:
        state = state_of(client)
        assert state.store is not None and state.openapi is not None
        until(lambda: not (tiles / "gone-layer").exists())  # swept after the first load
        layer = next(iter(state.store.current))
        stale = tiles / layer.id / f"v{layer.version + 100}"
        stale.mkdir(parents=True)
        seen: list[Catalog] = []
        unsubscribe = state.store.on_change(seen.append)
        generation = state.store.generation
        with psycopg.connect(sample_url, autocommit=True) as conn:
            conn.execute("SELECT pg_notify('onemap_catalog', %s)", (layer.id,))
        # The loop runs in TestClient's thread: the generation moves before subscribers run.
        until(lambda: state.store is not None and state.store.generation > generation)
        until(lambda: len(seen) > 1)
        assert seen[-1] is state.store.current  # called with the new snapshot
        documents = state.openapi
        until(lambda: getattr(documents.latest, "catalog", None) is seen[-1])  # /api rebuilt
        until(lambda: not stale.exists())  # the old version's tiles, swept by a subscriber
        unsubscribe()


def network_tables(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'onemap_net'"
        ).fetchall()
    return {name for (name,) in rows}


def test_networks_of_superseded_versions_go_on_a_catalog_change(
    settings: ServiceSettings, sample_url: str
) -> None:
    with TestClient(create_app(settings)) as client:
        state = state_of(client)
        assert state.store is not None
        layer = next(iter(state.store.current))
        current, _ = network_names(layer, "constant:40.0")
        superseded = "edges_" + "0" * 12 + current[18:]  # another version's key
        gone = "edges_" + "1" * 12 + "_gonelayr"  # a network of a deleted layer
        with psycopg.connect(sample_url, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA IF NOT EXISTS onemap_net")
            for name in (current, superseded, gone):
                conn.execute(sql.SQL("CREATE TABLE {} (id int)").format(Identifier(SCHEMA, name)))
                owner = "gone-layer" if "1" * 12 in name else layer.id
                comment = sql.SQL("COMMENT ON TABLE {} IS {}")
                conn.execute(comment.format(Identifier(SCHEMA, name), sql.Literal(owner)))
            conn.execute("SELECT pg_notify('onemap_catalog', %s)", (layer.id,))
        until(lambda: not {superseded, gone} & network_tables(sample_url))  # no request made
        assert current in network_tables(sample_url)
        with psycopg.connect(sample_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP TABLE {}").format(Identifier(SCHEMA, current)))


def test_no_service_is_made_by_a_request() -> None:
    """No ad-hoc ``app.state`` attribute or ``type: ignore`` for a service is left."""
    service_files = [
        "ogc/app.py",
        "ogc/deps.py",
        *(f"ogc/services/{path.name}" for path in (ROOT / "ogc" / "services").glob("*.py")),
        "ogc/state.py",
        "ogc/routers/processes.py",
        "ogc/common/tiles.py",
        "ogc/routers/tiles.py",
        "ogc/routers/tiles_dataset.py",
        "ogc/routers/wmts.py",
    ]
    for name in service_files:
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "type: ignore" not in text, name
        assert not re.search(r"getattr\([^)]*state", text), name
    for path in (ROOT / "ogc").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assigned = re.findall(r"app\.state\.(\w+)\s*=", text)
        assert set(assigned) <= {"onemap"}, (path, assigned)
        if path.parent.name != "services":  # the one place services are built
            built = re.findall(r"state\.(pool|store|tile_producer|jobs)\s*=[^=]", text)
            assert not built, (path, built)


def test_on_change_calls_each_subscriber_despite_a_failing_one(sample_url: str) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        calls: list[str] = []
        pool = AsyncConnectionPool(sample_url, min_size=1, max_size=1, open=False)
        await pool.open()
        try:
            store = CatalogStore(pool)

            def broken(_: Catalog) -> None:
                raise RuntimeError("a subscriber's bug")

            store.on_change(broken)
            stop_first = store.on_change(lambda c: calls.append(f"first:{len(c)}"))
            store.on_change(lambda c: calls.append("second"))
            snapshot = await store.reload()
            stop_first()
            await store.reload()
            late: list[str] = []
            store.on_change(lambda c: late.append("late"))  # a loaded store: called at once
            assert len(snapshot) > 0
            return calls, late
        finally:
            await pool.close()

    calls, late = asyncio.run(scenario())
    assert calls[0].startswith("first:") and calls[1:] == ["second", "second"]
    assert late == ["late"]


def test_a_task_that_ignores_its_cancel_does_not_hold_the_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def stubborn() -> None:
        for _ in range(3):  # swallows two cancels, then ends on the third
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(60)

    async def scenario() -> bool:
        task = asyncio.get_running_loop().create_task(stubborn(), name="stubborn")
        await asyncio.sleep(0)
        await cancel_all([task], wait_s=0.2)
        left_behind = not task.done()  # cancel_all returned while the task still ran
        for _ in range(2):
            task.cancel()
            await asyncio.sleep(0)
        await task
        return left_behind

    assert asyncio.run(scenario())
    assert "task stubborn did not end within 0 s of its cancel" in caplog.text
