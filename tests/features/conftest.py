"""A temporal point layer for the features tests, registered through ``catalog_write``.

``feat-events``: 40 points with names, adcodes, a magnitude (some NULL), a
timestamp (the layer's temporal field) and a date. Five points lie in Tianhe
(440106, on the county's point on surface), two straddle the antimeridian.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from layers.catalog_write import LayerMeta
from tests.helpers.catalog import fields_from_json, fixture_meta, register_table
from tests.helpers.wait import wait_for_layer

EVENTS = "feat-events"
EVENTS_TABLE = "feat_events_v1"
FIELDS = [
    {"name": "name", "type": "string", "source_name": "name", "title": "名称"},
    {"name": "adcode", "type": "string", "source_name": "adcode", "title": "行政区划代码"},
    {"name": "magnitude", "type": "number", "source_name": "magnitude", "title": "magnitude"},
    {"name": "happened", "type": "timestamp", "source_name": "happened", "title": "time"},
    {"name": "day", "type": "date", "source_name": "day", "title": "day"},
]

CREATE = """
CREATE TABLE onemap_data.feat_events_v1 (
    fid bigint PRIMARY KEY DEFAULT nextval('onemap.feature_id_seq'),
    name text, adcode text, magnitude double precision, happened timestamptz, day date,
    geom geometry(Point, 4490));
-- 33 points on a grid over Guangdong, one per county code of gd-counties in fid order
INSERT INTO onemap_data.feat_events_v1 (name, adcode, magnitude, happened, day, geom)
SELECT '事件' || n, c.adcode, CASE WHEN n % 7 = 0 THEN NULL ELSE n * 0.5 END,
       timestamptz '2024-01-01 00:00:00+00' + (n || ' days')::interval,
       date '2024-01-01' + n,
       ST_SetSRID(ST_MakePoint(110.0 + (n % 11) * 0.6, 21.0 + (n / 11) * 1.2), 4490)
FROM generate_series(1, 33) AS n
JOIN LATERAL (SELECT adcode FROM onemap_data."gd-counties" ORDER BY fid OFFSET n LIMIT 1) c ON true;
-- five in Tianhe
INSERT INTO onemap_data.feat_events_v1 (name, adcode, magnitude, happened, day, geom)
SELECT '天河事件' || n, '440106', 10 + n, ('2025-06-0' || n || ' 08:00:00+08')::timestamptz,
       date '2025-06-01' + n, ST_PointOnSurface(geom)
FROM onemap_data."gd-counties", generate_series(1, 5) AS n WHERE adcode = '440106';
-- two either side of the antimeridian
INSERT INTO onemap_data.feat_events_v1 (name, adcode, magnitude, happened, day, geom) VALUES
  ('east of 180', '000000', 1, '2023-03-03T00:00:00Z', '2023-03-03',
   ST_SetSRID(ST_MakePoint(179.5, 10), 4490)),
  ('west of 180', '000000', 2, '2023-03-04T00:00:00Z', '2023-03-04',
   ST_SetSRID(ST_MakePoint(-179.5, 10), 4490));
CREATE INDEX ON onemap_data.feat_events_v1 USING gist (geom);
ANALYZE onemap_data.feat_events_v1;
"""

EVENTS_META = fixture_meta(EVENTS, "测试事件", "Test events")
TIME_RANGE = "SELECT min(happened), max(happened) FROM onemap_data.feat_events_v1"


def register_events(
    conn: psycopg.Connection, meta: LayerMeta, fields: list[dict[str, str]]
) -> None:
    """Publish ``feat_events_v1`` as a version of ``meta``'s layer, through catalog_write."""
    row = conn.execute(TIME_RANGE).fetchone()
    assert row is not None
    register_table(
        conn,
        meta,
        EVENTS_TABLE,
        fields_from_json(fields),
        "Point",
        temporal_start=row[0],
        temporal_end=row[1],
        temporal_field="happened",
    )


@pytest.fixture(scope="session")
def events_layer(sample_url: str, client: TestClient) -> Iterator[str]:
    with psycopg.connect(sample_url, autocommit=False) as conn:
        exists = conn.execute("SELECT 1 FROM onemap.layers WHERE id = %s", [EVENTS]).fetchone()
        if not exists:
            conn.execute(CREATE)
            register_events(conn, EVENTS_META, FIELDS)
        conn.commit()
    wait_for_layer(client, EVENTS)
    yield EVENTS


def features(body: dict) -> list[dict]:  # type: ignore[type-arg]
    return list(body["features"])


def ids(body: dict) -> list[int]:  # type: ignore[type-arg]
    return [f["id"] for f in body["features"]]
