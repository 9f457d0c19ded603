"""Schemathesis on every operation of ``/api`` with every check (issue 16, ADR 0018).

The app runs on a real loopback socket over a database of its own (the sample layers and a
scratch layer the writes go to, as the publisher), so the run's deletes and edits never
reach the layers other tests read. Bounded by examples, not time (so a slow machine runs
the same cases): a few per operation and phase, a fixed seed; ``bench/fuzz.py`` runs the
same longer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ingest.sample import load_sample_data
from layers.migrate import migrate
from layers.settings import ServiceSettings
from tests.conftest import FAST_WEBHOOKS, PUBLISHER_TOKEN
from tests.helpers.fuzz import fuzz, loopback_only, scratch_collection
from tests.helpers.live import live_server

SCRATCH = "fuzz-scratch"
MAX_EXAMPLES = 4


@pytest.fixture(scope="module")
def fuzz_database(database_url: str) -> Iterator[str]:
    """A fresh database beside the session's, with the sample layers published."""
    name = f"onemap_fuzz_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(**(conninfo_to_dict(database_url) | {"dbname": name}))  # type: ignore[arg-type]
    try:
        migrate(url)
        load_sample_data(url)
        yield url
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.mark.slow
def test_every_operation_passes_every_check(
    fuzz_database: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from ogc.app import create_app

    settings = ServiceSettings(
        database_url=fuzz_database,
        load_sample_data=False,
        max_limit=1000,
        publisher_token=PUBLISHER_TOKEN,
        data_dir=tmp_path_factory.mktemp("fuzz-data"),
        webhooks=FAST_WEBHOOKS.model_copy(update={"enabled": False}),
    )
    with loopback_only(), live_server(create_app(settings)) as live:
        scratch_collection(live.url, PUBLISHER_TOKEN, SCRATCH)
        outcome = fuzz(live.url, token=PUBLISHER_TOKEN, scratch=SCRATCH,
                       max_examples=MAX_EXAMPLES, seed=16)  # fmt: skip
    assert outcome.cases > 250, f"too few requests to mean anything: {outcome.report()}"
    assert not outcome.broken, outcome.report()
    assert not outcome.failures, outcome.report()
