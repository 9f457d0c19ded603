"""SQL edits of a table whose columns are called ``n`` and ``o``, the names the edit
triggers give the changed rows (migration 0027: 0017's ``to_jsonb(n)`` took the column for
the row, and every UPDATE, and any TRUNCATE, of such a table failed)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from layers.catalog import FieldInfo
from tests.helpers.catalog import fixture_meta, register_table

LAYER = "edit-columns-n-o"
TABLE = "edit_columns_n_o_v1"
CREATE = f"""
CREATE TABLE onemap_data.{TABLE} (
    fid bigint PRIMARY KEY DEFAULT nextval('onemap.feature_id_seq'), n integer, o text,
    geom geometry(Polygon, 4490));
INSERT INTO onemap_data.{TABLE} (n, o, geom)
SELECT k, 'row ' || k, ST_MakeEnvelope(113.5 + k * 0.01, 23.5, 113.505 + k * 0.01, 23.505, 4490)
FROM generate_series(1, 3) AS k
"""


@pytest.fixture(scope="module")
def editable(sample_url: str) -> str:
    """The table published and opened for editing (its triggers installed)."""
    fields = [FieldInfo("n", "integer", "n"), FieldInfo("o", "string", "o")]
    with psycopg.connect(sample_url) as conn:
        conn.execute(CREATE)
        register_table(conn, fixture_meta(LAYER, "列", "Columns"), TABLE, fields, "Polygon")
        conn.execute("UPDATE onemap.layers SET editable = true WHERE id = %s", [LAYER])
    return sample_url


def _edits(url: str, operation: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT before -> 'properties', after -> 'properties' FROM onemap.feature_edits"
            " WHERE layer_id = %s AND operation = %s ORDER BY fid",
            [LAYER, operation],
        ).fetchall()


def test_updates_and_truncates_record_the_rows(editable: str) -> None:
    with psycopg.connect(editable) as conn:  # an analyst's client: no OneMap setting
        conn.execute(f"UPDATE onemap_data.{TABLE} SET n = -n, o = o || '!' WHERE n = 1")
    assert _edits(editable, "update") == [({"n": 1, "o": "row 1"}, {"n": -1, "o": "row 1!"})]
    with psycopg.connect(editable) as conn:
        conn.execute(f"TRUNCATE onemap_data.{TABLE}")
    assert _edits(editable, "delete") == [
        ({"n": -1, "o": "row 1!"}, None),
        ({"n": 2, "o": "row 2"}, None),
        ({"n": 3, "o": "row 3"}, None),
    ]
