"""``numberMatched`` of an items page: the catalog's count, a bounded exact count, or an
estimate flagged as one.

A count depends only on the layer version and the selection, so it is kept in the
layer's ``FeaturePlan`` (bounded, and gone with the plan when a new version arrives):
every replica computes the same value, and a new version is a new plan.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from psycopg import sql

from layers.features.execute import PageSummary, database_errors
from layers.features.page import count_sql, estimate_sql
from layers.features.plan import FeaturePlan, Matched
from layers.features.query import ItemsQuery
from layers.features.render import Binder

ESTIMATE = "onemap:numberMatchedEstimate"


async def matched(
    plan: FeaturePlan,
    query: ItemsQuery,
    exact_count_max: int,
    conn: psycopg.AsyncConnection[Any],
    summary: PageSummary,
) -> Matched:
    """What the page says about the whole selection, counting only when it must."""
    if not query.filtered:
        return {"numberMatched": plan.layer.feature_count}
    if query.keyset is None and not query.offset and not summary.more:
        return {"numberMatched": summary.returned}  # the whole selection is on this page
    binder = Binder(literal=query.condition is not None)
    statement = count_sql(plan.layer, query, binder, exact_count_max)
    # A digest: an area-limited caller's statement carries their area's geometry.
    text = statement.as_bytes(conn) + repr(binder.bound).encode()
    key = (hashlib.sha256(text).digest(), exact_count_max)
    found = plan.counts.get(key)
    if found is None:
        found = await _count_or_estimate(plan, query, exact_count_max, conn, statement, binder)
        plan.counts.put(key, found)
    return found


async def _count_or_estimate(
    plan: FeaturePlan,
    query: ItemsQuery,
    exact_count_max: int,
    conn: psycopg.AsyncConnection[Any],
    statement: sql.Composed,
    binder: Binder,
) -> Matched:
    with database_errors():
        row = await (await conn.execute(statement, binder.bound, prepare=False)).fetchone()
    assert row is not None
    if int(row[0]) <= exact_count_max:
        return {"numberMatched": int(row[0])}
    explain = estimate_sql(plan.layer, query, Binder(literal=True))
    with database_errors():
        found = await (await conn.execute(explain)).fetchone()
    assert found is not None
    estimate = int(found[0][0]["Plan"]["Plan Rows"])
    return {ESTIMATE: max(estimate, exact_count_max + 1)}
