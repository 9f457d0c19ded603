"""A run's memory bound, checked before a job exists.

An analysis that declares an estimate (``Analysis.estimate``, ``spatial.bounds``) is
costed from its parsed inputs as its owner sees the catalog, on a short-lived session of
its own; a run estimated above ``ONEMAP_PROCESS_MAX_MEMORY_MB`` is a 413 naming the input
to shrink, and an input the estimate cannot resolve (an unknown layer or admin code) the
400 the run would give — before a job row is written or a worker is taken. The bound
itself is enforced while the run works (``spatial.isolate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

from layers.access.caller import Caller
from layers.db import with_options
from ogc.gate.visible import visible_catalog
from ogc.processes.runner import JobRunner
from spatial.context import Context
from spatial.registry import Analysis

ESTIMATE_TIMEOUT_MS = 5000  # catalog look-ups and an admin unit's outline: milliseconds


def check_run_cost(
    runner: JobRunner, analysis: Analysis[Any], values: Mapping[str, Any], owner: Caller
) -> None:
    """413 (or the inputs' 400) when a run of ``analysis`` on ``values`` cannot fit."""
    if analysis.estimate is None or runner.isolation is None:
        return
    conninfo = with_options(runner.database_url, statement_timeout_ms=ESTIMATE_TIMEOUT_MS)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        ctx = Context(
            conn=conn,
            catalog=visible_catalog(runner.catalog(), owner),
            admin_layers=runner.admin_layers,
            raster_roots=runner.raster_roots,
        )
        cost = analysis.cost(values, ctx)
    if cost is not None:
        cost.check(analysis.id, runner.isolation.max_memory_mb)
