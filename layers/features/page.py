"""One page of items as a few rows of pre-rendered text (chunks).

The statement reads ``limit + 1`` rows in the requested order (the extra row
only says whether a further page exists and is never rendered), numbers them,
and joins every ``CHUNK_ROWS`` rendered features into one text row. The service
streams those rows, so its memory does not grow with ``limit``.

Paging is by keyset: a page starts after (or, backwards, ends before) the sort
key values of a row, which an index on ``fid`` serves at any depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql

from layers.catalog import Layer
from layers.features.query import ItemsQuery, Keyset, SortKey
from layers.features.render import Binder, csv_columns, prerendered, selected_fields, table_of
from layers.features.where import area_condition, conditions, where_clause

CHUNK_ROWS = 200
FID = sql.Identifier("fid")


def order_terms(sort: Sequence[SortKey], *, backwards: bool) -> list[sql.Composable]:
    """ORDER BY terms; NULL sorts as the largest value, fid breaks ties."""
    terms: list[sql.Composable] = []
    for key in sort:
        descending = key.descending != backwards
        direction = "DESC NULLS FIRST" if descending else "ASC NULLS LAST"
        terms.append(sql.SQL("{} " + direction).format(sql.Identifier(key.field)))
    terms.append(sql.SQL("fid DESC" if backwards else "fid"))
    return terms


def keyset_condition(sort: Sequence[SortKey], keyset: Keyset, binder: Binder) -> sql.Composable:
    """Rows strictly after the keyset row in the page's direction (lexicographic)."""
    if len(keyset.values) != len(sort) + 1:
        raise ValueError("keyset does not match the sort keys")
    *values, fid = keyset.values
    ties: list[sql.Composable] = []
    alternatives: list[sql.Composable] = []
    for key, value in zip(sort, values, strict=True):
        descending = key.descending != keyset.backwards
        column = sql.Identifier(key.field)
        after = _after(column, value, descending=descending, binder=binder)
        if after is not None:
            alternatives.append(sql.SQL(" AND ").join([*ties, after]))
        ties.append(
            sql.SQL("{} IS NULL").format(column)
            if value is None
            else sql.SQL("{} = {}").format(column, binder.value(value))
        )
    fid_after = sql.SQL("fid < {}" if keyset.backwards else "fid > {}").format(binder.value(fid))
    alternatives.append(sql.SQL(" AND ").join([*ties, fid_after]))
    if len(alternatives) == 1:
        return alternatives[0]
    return sql.SQL("(({}))").format(sql.SQL(") OR (").join(alternatives))


def _after(
    column: sql.Identifier, value: Any, *, descending: bool, binder: Binder
) -> sql.Composable | None:
    """``column`` comes after ``value`` in this direction, NULL being the largest."""
    if value is None:
        return None if not descending else sql.SQL("{} IS NOT NULL").format(column)
    if descending:
        return sql.SQL("{} < {}").format(column, binder.value(value))
    return sql.SQL("({} > {} OR {} IS NULL)").format(column, binder.value(value), column)


def key_expression(sort: Sequence[SortKey]) -> sql.Composable:
    """Each row's keyset values: fid alone, or a JSON array of sort values then fid."""
    if not sort:
        return FID
    columns = [sql.Identifier(k.field) for k in sort]
    return sql.SQL("json_build_array({}, fid)::text").format(sql.SQL(", ").join(columns))


Frame = tuple[sql.Composable, sql.Composable, sql.Composable]


def page_sql(layer: Layer, query: ItemsQuery, binder: Binder, frame: Frame) -> sql.Composed:
    """Rows of (text, returned, more, min rn, key at min rn, max rn, key at max rn).

    Only the WHERE clause, LIMIT and OFFSET change per request; ``frame`` is the
    statement around them (``page_frame``), which the layer's ``FeaturePlan`` keeps
    per output shape.
    """
    parts = conditions(layer, query, binder)
    if query.keyset is not None:
        parts.append(keyset_condition(query.sort, query.keyset, binder))
    head, middle, tail = frame
    return sql.Composed(
        [
            head,
            where_clause(parts),
            middle,
            binder.value(query.limit + 1),
            _offset(query, binder),
            tail,
        ]
    )


def page_frame(
    layer: Layer, query: ItemsQuery, item: sql.Composable, separator: str, *, backwards: bool
) -> Frame:
    """The statement around ``WHERE ... LIMIT n OFFSET m``, as pre-rendered text."""
    head, middle, tail = _frame_parts(layer, query, item, separator, backwards=backwards)
    return prerendered(head), prerendered(middle), prerendered(tail)


def _frame_parts(
    layer: Layer, query: ItemsQuery, item: sql.Composable, separator: str, *, backwards: bool
) -> tuple[sql.Composed, sql.Composed, sql.Composed]:
    order = sql.SQL(", ").join(order_terms(query.sort, backwards=backwards))
    limit = sql.Literal(query.limit)
    rn_order = sql.SQL("DESC" if backwards else "ASC")
    head = sql.SQL(
        "SELECT string_agg(item, {sep} ORDER BY rn {dir}) FILTER (WHERE rn <= {lim}), "
        "count(item), bool_or(rn > {lim}), "
        "min(rn) FILTER (WHERE rn <= {lim}), "
        "(array_agg(key ORDER BY rn) FILTER (WHERE rn <= {lim}))[1], "
        "max(rn) FILTER (WHERE rn <= {lim}), "
        "(array_agg(key ORDER BY rn DESC) FILTER (WHERE rn <= {lim}))[1] "
        "FROM (SELECT row_number() OVER w AS rn, "
        "CASE WHEN row_number() OVER w <= {lim} THEN {item} END AS item, {key} AS key "
        "FROM (SELECT {columns} FROM {table}"
    ).format(
        sep=sql.Literal(separator),
        dir=rn_order,
        lim=limit,
        item=item,
        key=key_expression(query.sort),
        columns=sql.SQL(", ").join(_needed_columns(layer, query)),
        table=table_of(layer),
    )
    middle = sql.SQL(" ORDER BY {order} LIMIT ").format(order=order)
    tail = sql.SQL(
        ") AS page WINDOW w AS (ORDER BY {order})) AS numbered "
        "GROUP BY (rn - 1) / {chunk} ORDER BY (rn - 1) / {chunk} {dir}"
    ).format(order=order, chunk=sql.Literal(CHUNK_ROWS), dir=rn_order)
    return head, middle, tail


def _offset(query: ItemsQuery, binder: Binder) -> sql.Composable:
    return sql.SQL(" OFFSET {}").format(binder.value(query.offset)) if query.offset else sql.SQL("")


def _needed_columns(layer: Layer, query: ItemsQuery) -> list[sql.Composable]:
    names = ["fid"]
    if not query.skip_geometry:
        names.append("geom")
    names += [f.name for f in selected_fields(layer, query)]
    names += [k.field for k in query.sort if k.field not in names]
    return [sql.Identifier(n) for n in names]


def csv_copy_sql(layer: Layer, query: ItemsQuery, binder: Binder) -> sql.Composed:
    """COPY of one page as CSV with a header (PostgreSQL writes and quotes the CSV)."""
    backwards = query.keyset.backwards if query.keyset else False
    parts = conditions(layer, query, binder)
    if query.keyset is not None:
        parts.append(keyset_condition(query.sort, query.keyset, binder))
    offset = _offset(query, binder)
    return sql.SQL(
        "COPY (SELECT {columns} FROM {table}{where} ORDER BY {order} LIMIT {n}{offset}) "
        "TO STDOUT WITH (FORMAT csv, HEADER true)"
    ).format(
        columns=csv_columns(layer, query),
        table=table_of(layer),
        where=where_clause(parts),
        order=sql.SQL(", ").join(order_terms(query.sort, backwards=backwards)),
        n=binder.value(query.limit),
        offset=offset,
    )


def feature_sql(layer: Layer, item: sql.Composable, *, clipped: bool = False) -> sql.Composed:
    """Features by fid: ``(fid, text)`` rows of the fids of the first placeholder (an array:
    reads of one statement share an execute, ``layers.features.coalesce``), ``item`` being
    the rendered expression; ``clipped``: only inside an area-limited caller's areas (a
    second placeholder)."""
    statement = sql.SQL("SELECT fid, {} FROM {} WHERE fid = ANY(%s::bigint[])").format(
        item, table_of(layer)
    )
    if clipped:
        statement += sql.SQL(" AND ") + area_condition(sql.Identifier("geom"), sql.SQL("%s"))
    return statement


def count_sql(layer: Layer, query: ItemsQuery, binder: Binder, at_most: int) -> sql.Composed:
    """The number of matching rows, counting no further than ``at_most + 1``."""
    where = where_clause(conditions(layer, query, binder))
    return sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {}{} LIMIT {}) AS matched").format(
        table_of(layer), where, binder.value(at_most + 1)
    )


def estimate_sql(layer: Layer, query: ItemsQuery, binder: Binder) -> sql.Composed:
    """The planner's row estimate for the selection (EXPLAIN, nothing is read)."""
    where = where_clause(conditions(layer, query, binder))
    return sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}{}").format(table_of(layer), where)
