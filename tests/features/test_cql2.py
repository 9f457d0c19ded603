"""CQL2 text/JSON filters compiled by ``layers.cql2`` and run on a real PostGIS.

Six Guangzhou-like districts (boxes in EPSG:4490, lon/lat) with known
attributes; every case asserts exactly which fids a filter selects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from layers.cql2 import (
    Queryable,
    compile_filter,
    conformance_classes,
    parse_filter,
    query_parameters_filter,
    queryables_json_schema,
)
from layers.crs import (
    CRS84,
    FIRST_AXIS_NORTH_SRIDS,
    GEOGRAPHIC_SRIDS,
    FilterCrs,
    filter_crs_from_uri,
)
from layers.errors import InvalidParameter

TABLE = "cql2_districts"

QUERYABLES = {
    q.name: q
    for q in (
        Queryable("name", "name", "string", title="名称"),
        Queryable("adcode", "adcode", "string"),
        Queryable("pop", "pop", "integer"),
        Queryable("area", "area", "number"),
        Queryable("urban", "urban", "boolean"),
        Queryable("opened", "opened", "date"),
        Queryable("closed", "closed", "date"),
        Queryable("ts", "ts", "timestamp"),
        Queryable("geometry", "geom", "geometry", geometry_type="multipolygon"),
    )
}

# fid, name, adcode, pop, area, urban, opened, closed, ts, box (lon/lat) or None
ROWS = [
    (1, "天河区", "440106", 2240000, 96.33, True, "2005-01-01", "2025-12-31",
     "2020-06-01T08:00:00Z", (113.30, 23.10, 113.45, 23.25)),
    (2, "越秀区", "440104", 1040000, 33.8, True, "1999-05-01", "2010-01-01",
     "2021-03-15T12:00:00Z", (113.20, 23.10, 113.30, 23.20)),
    (3, "海珠区", "440105", 1810000, 90.4, True, "2010-07-01", "2025-12-31",
     None, (113.25, 23.00, 113.40, 23.10)),
    (4, "番禺区", "440113", 2790000, 530.0, False, None, None,
     "2019-12-31T23:59:59Z", (113.30, 22.80, 113.60, 23.00)),
    (5, "Nansha Port 100%", "440199", None, 1.5, False, "2022-02-02", "2022-02-02",
     "2022-02-02T00:00:00Z", (114.0, 22.5, 114.1, 22.6)),
    (6, "O'Hare", "000000", 0, 0.0, None, "2000-01-01", None,
     "2000-01-01T00:00:00Z", None),
]  # fmt: skip
ALL = {1, 2, 3, 4, 5, 6}
CREATE_TABLE = f"""
    CREATE TEMP TABLE {TABLE} (
        fid integer PRIMARY KEY, name text, adcode text, pop integer, area double precision,
        urban boolean, opened date, closed date, ts timestamptz, geom geometry(MultiPolygon, 4490)
    )"""
INSERT_ROW = f"""
    INSERT INTO {TABLE} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,
        ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4490)))"""


@pytest.fixture(scope="module")
def cql2_db(request: pytest.FixtureRequest) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the run's PostGIS with the temp table loaded."""
    url = request.getfixturevalue("migrated_url")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(CREATE_TABLE)
        for *attributes, box in ROWS:
            connection.execute(INSERT_ROW, (*attributes, *(box or (None,) * 4)))
        yield connection


def compile_text(text: Any, lang: str = "cql2-text", **crs: Any) -> sql.Composed:
    return compile_filter(text, lang, QUERYABLES, geometry_column="geom", storage_srid=4490, **crs)


def select_fids(db: psycopg.Connection[Any], condition: sql.Composed) -> set[int]:
    query = sql.SQL("SELECT fid FROM {} WHERE {}").format(sql.Identifier(TABLE), condition)
    return {row[0] for row in db.execute(query)}


def run_text(db: psycopg.Connection[Any], text: str, **crs: Any) -> set[int]:
    return select_fids(db, compile_text(text, **crs))


def run_json(db: psycopg.Connection[Any], document: Any) -> set[int]:
    return select_fids(db, compile_text(json.dumps(document), "cql2-json"))


TEXT_CASES = [
    # comparisons, logic and precedence (AND binds tighter than OR)
    ("name = '天河区'", {1}),
    ("adcode <> '440106'", ALL - {1}),
    ("pop < 1500000", {2, 6}),
    ("pop <= 1040000", {2, 6}),
    ("pop > 2240000", {4}),
    ("pop >= 2240000", {1, 4}),
    ("area > 90 AND urban = TRUE", {1, 3}),
    ("pop > 2000000 OR area < 2 AND name LIKE 'N%'", {1, 4, 5}),
    ("(pop > 2000000 OR area < 2) AND name LIKE 'N%'", {5}),
    ("NOT (pop > 2000000)", {2, 3, 6}),
    ("not pop > 2000000 and urban = true", {2, 3}),
    ("TRUE", ALL),
    ("name = 'O''Hare'", {6}),
    ("name = 'O\\'Hare'", {6}),
    ("pop > area", {1, 2, 3, 4}),
    ("opened = DATE('2005-01-01')", {1}),
    ("ts >= TIMESTAMP('2021-01-01T00:00:00Z')", {2, 5}),
    # advanced comparison operators and CASEI
    ("name LIKE '%区'", {1, 2, 3, 4}),
    ("name LIKE '_河区'", {1}),
    ("name NOT LIKE '%区'", {5, 6}),
    ("name LIKE '%100\\%'", {5}),
    ("CASEI(name) = CASEI('NANSHA PORT 100%')", {5}),
    ("CASEI(name) LIKE CASEI('nansha%')", {5}),
    ("adcode IN ('440106', '440104')", {1, 2}),
    ("adcode NOT IN ('440106')", ALL - {1}),
    ("pop IN (0, 1040000)", {2, 6}),
    ("area BETWEEN 30 AND 100", {1, 2, 3}),
    ("area NOT BETWEEN 30 AND 100", {4, 5, 6}),
    ("pop IS NULL", {5}),
    ("ts IS NOT NULL", ALL - {3}),
    ("geometry IS NULL", {6}),
    # arithmetic (x / 0 is NULL, not an error)
    ("pop / area > 20000", {1, 2, 3}),
    ("pop + 10 = 10", {6}),
    ("pop - 40000 = 1000000", {2}),
    ("pop * 2 > 5000000", {4}),
    ("pop % 1000000 = 40000", {2}),
    ("pop div 1000000 = 2", {1, 4}),
    ("area ^ 2 > 10000", {4}),
    ("-pop < -2500000", {4}),
    ("2 * (pop + 1) - 2 = 2080000", {2}),
    # spatial functions, CRS84 literals
    ("S_INTERSECTS(geometry, POINT(113.35 23.2))", {1}),
    ("S_INTERSECTS(geometry, BBOX(113.0, 22.0, 113.28, 23.15))", {2, 3}),
    ("S_WITHIN(geometry, POLYGON((113 22.7, 113.7 22.7, 113.7 23.3, 113 23.3, 113 22.7)))",
     {1, 2, 3, 4}),
    ("S_CONTAINS(geometry, POINT(114.05 22.55))", {5}),
    ("S_DISJOINT(geometry, BBOX(113.9, 22.4, 114.2, 22.7))", {1, 2, 3, 4}),
    ("S_TOUCHES(geometry, POLYGON((113.2 23.1, 113.3 23.1, 113.3 23.2, 113.2 23.2, 113.2 23.1)))",
     {1, 3}),
    ("S_OVERLAPS(geometry, BBOX(113.40, 23.20, 113.50, 23.30))", {1}),
    ("S_CROSSES(geometry, LINESTRING(113.35 22.9, 113.35 23.3))", {1, 3, 4}),
    ("S_EQUALS(geometry, MULTIPOLYGON(((114 22.5, 114.1 22.5, 114.1 22.6, 114 22.6, 114 22.5))))",
     {5}),
    ("s_intersects(geometry, point(113.35 23.2)) AND name = '天河区'", {1}),
    # temporal functions on instants
    ("T_BEFORE(ts, TIMESTAMP('2020-01-01T00:00:00Z'))", {4, 6}),
    ("T_AFTER(ts, INTERVAL('2020-01-01T00:00:00Z', '2021-12-31T23:59:59Z'))", {5}),
    ("T_INTERSECTS(ts, INTERVAL('2020-01-01T00:00:00Z', '2021-12-31T23:59:59Z'))", {1, 2}),
    ("T_DISJOINT(ts, INTERVAL('2020-01-01T00:00:00Z', '..'))", {4, 6}),
    ("T_EQUALS(ts, TIMESTAMP('2022-02-02T00:00:00Z'))", {5}),
    ("T_INTERSECTS(opened, INTERVAL('..', '2001-01-01'))", {2, 6}),
    ("T_AFTER(opened, DATE('2009-12-31'))", {3, 5}),
    # temporal functions on intervals built from two date properties
    ("T_DURING(INTERVAL(opened, closed), INTERVAL('2000-01-01', '2030-01-01'))", {1, 3, 5}),
    ("T_CONTAINS(INTERVAL(opened, closed), INTERVAL('2006-01-01', '2007-01-01'))", {1, 2}),
    ("T_MEETS(INTERVAL(opened, closed), INTERVAL('2010-01-01', '..'))", {2}),
    ("T_METBY(INTERVAL(opened, closed), INTERVAL('1990-01-01', '2010-07-01'))", {3}),
    ("T_OVERLAPS(INTERVAL(opened, closed), INTERVAL('2008-01-01', '2012-01-01'))", {2}),
    ("T_OVERLAPPEDBY(INTERVAL(opened, closed), INTERVAL('2000-01-01', '2012-01-01'))", {1, 3}),
    ("T_STARTS(INTERVAL(opened, closed), INTERVAL('2005-01-01', '2030-01-01'))", {1}),
    ("T_STARTEDBY(INTERVAL(opened, closed), INTERVAL('2005-01-01', '2006-01-01'))", {1}),
    ("T_FINISHES(INTERVAL(opened, closed), INTERVAL('2000-01-01', '2025-12-31'))", {1, 3}),
    ("T_FINISHEDBY(INTERVAL(opened, closed), INTERVAL('2008-01-01', '2025-12-31'))", {1}),
    ("T_EQUALS(INTERVAL(opened, closed), INTERVAL('2022-02-02', '2022-02-02'))", {5}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), TEXT_CASES, ids=[c[0][:60] for c in TEXT_CASES])
def test_text_filter_selects(
    cql2_db: psycopg.Connection[Any], text: str, expected: set[int]
) -> None:
    assert run_text(cql2_db, text) == expected


def prop(name: str) -> dict[str, str]:
    return {"property": name}


JSON_CASES = [
    ({"op": "=", "args": [prop("name"), "天河区"]}, {1}),
    ({"op": "and", "args": [
        {"op": ">", "args": [prop("area"), 90]},
        {"op": "=", "args": [prop("urban"), True]},
    ]}, {1, 3}),
    ({"op": "or", "args": [
        {"op": ">", "args": [prop("pop"), 2000000]},
        {"op": "not", "args": [{"op": "isNull", "args": [prop("closed")]}]},
    ]}, {1, 2, 3, 4, 5}),
    ({"op": "like", "args": [{"op": "casei", "args": [prop("name")]},
                             {"op": "casei", "args": ["NANSHA%"]}]}, {5}),
    ({"op": "in", "args": [prop("adcode"), ["440106", "440104"]]}, {1, 2}),
    ({"op": "between", "args": [prop("area"), 30, 100]}, {1, 2, 3}),
    ({"op": ">", "args": [{"op": "/", "args": [prop("pop"), prop("area")]}, 20000]}, {1, 2, 3}),
    ({"op": "s_intersects", "args": [prop("geometry"),
                                     {"type": "Point", "coordinates": [113.35, 23.2]}]}, {1}),
    ({"op": "s_intersects", "args": [prop("geometry"), {"bbox": [113.0, 22.0, 113.28, 23.15]}]},
     {2, 3}),
    ({"op": "s_within", "args": [prop("geometry"), {"type": "Polygon", "coordinates": [
        [[113, 22.7], [113.7, 22.7], [113.7, 23.3], [113, 23.3], [113, 22.7]]]}]}, {1, 2, 3, 4}),
    ({"op": "t_before", "args": [prop("ts"), {"timestamp": "2020-01-01T00:00:00Z"}]}, {4, 6}),
    ({"op": "t_intersects", "args": [prop("opened"), {"interval": ["..", "2001-01-01"]}]},
     {2, 6}),
    ({"op": "t_disjoint", "args": [prop("ts"), {"interval": ["2020-01-01T00:00:00Z", ".."]}]},
     {4, 6}),
    ({"op": "t_metBy", "args": [{"interval": [prop("opened"), prop("closed")]},
                                {"interval": ["1990-01-01", "2010-07-01"]}]}, {3}),
    ({"op": "=", "args": [prop("opened"), {"date": "2005-01-01"}]}, {1}),
    (True, ALL),
]  # fmt: skip


@pytest.mark.parametrize(("document", "expected"), JSON_CASES)
def test_json_filter_selects(
    cql2_db: psycopg.Connection[Any], document: Any, expected: set[int]
) -> None:
    assert run_json(cql2_db, document) == expected


def test_json_filter_accepts_decoded_json(cql2_db: psycopg.Connection[Any]) -> None:
    condition = compile_text({"op": "=", "args": [prop("adcode"), "440104"]}, "cql2-json")
    assert select_fids(cql2_db, condition) == {2}


def test_filter_crs_lat_first_swaps_axes(cql2_db: psycopg.Connection[Any]) -> None:
    lat_lon_point = "S_INTERSECTS(geometry, POINT(23.2 113.35))"
    wgs84 = filter_crs_from_uri("http://www.opengis.net/def/crs/EPSG/0/4326")
    cgcs2000 = filter_crs_from_uri("http://www.opengis.net/def/crs/EPSG/0/4490")
    assert wgs84 == FilterCrs(4326, lat_first=True)
    for crs in (wgs84, cgcs2000):
        found = run_text(cql2_db, lat_lon_point, filter_srid=crs.srid, filter_lat_first=True)
        assert found == {1}
    assert run_text(cql2_db, lat_lon_point) == set()  # CRS84: 23.2 is the longitude
    lat_lon_bbox = "S_INTERSECTS(geometry, BBOX(22.0, 113.0, 23.15, 113.28))"
    assert run_text(cql2_db, lat_lon_bbox, filter_srid=4326, filter_lat_first=True) == {2, 3}


def test_filter_crs_uris() -> None:
    assert filter_crs_from_uri(None) == CRS84
    assert filter_crs_from_uri("http://www.opengis.net/def/crs/OGC/1.3/CRS84") == CRS84
    # one axis-order set for crs, bbox-crs and filter-crs: Gauss-Kruger is northing first
    assert filter_crs_from_uri("EPSG:4547") == FilterCrs(4547, lat_first=True)
    assert filter_crs_from_uri("EPSG:3857") == FilterCrs(3857, lat_first=False)
    assert filter_crs_from_uri("https://www.opengis.net/def/crs/OGC/1.3/CRS84") == CRS84
    assert 4490 in FIRST_AXIS_NORTH_SRIDS
    assert 4490 in GEOGRAPHIC_SRIDS
    assert 4547 not in GEOGRAPHIC_SRIDS
    with pytest.raises(InvalidParameter, match="filter-crs"):
        filter_crs_from_uri("urn:ogc:def:crs:EPSG::4326")


def test_antimeridian_bbox_is_split(cql2_db: psycopg.Connection[Any]) -> None:
    # west > east in CRS84 wraps around 180°, so it covers 114° E here.
    assert run_text(cql2_db, "S_INTERSECTS(geometry, BBOX(113.9, 22.4, 113.8, 22.7))") == {5}


def test_injection_attempt_is_a_plain_string(cql2_db: psycopg.Connection[Any]) -> None:
    attack = f"name = 'x''); DROP TABLE {TABLE}; --'"
    assert run_text(cql2_db, attack) == set()
    json_attack = {"op": "=", "args": [prop("name"), f"x'); DROP TABLE {TABLE}; --"]}
    assert run_json(cql2_db, json_attack) == set()
    assert run_text(cql2_db, "TRUE") == ALL  # the table is still there
    with pytest.raises(InvalidParameter, match="unknown property"):
        compile_text(f'"name; DROP TABLE {TABLE}" = 1')


def test_unknown_property_is_named_with_the_queryables() -> None:
    with pytest.raises(InvalidParameter) as error:
        compile_text("popu > 5")
    message = error.value.message
    assert "unknown property 'popu'" in message
    assert "queryables are: name, adcode, pop, area" in message
    assert "did you mean 'pop'" in message


@pytest.mark.parametrize(
    ("text", "expected_message"),
    [
        ("adcode = 440106", "cannot compare adcode (string) with 440106 (number)"),
        ("name > 5", "cannot compare name (string) with 5 (number)"),
        ("opened = '2020-01-01'", "DATE('2024-06-30')"),
        ("S_INTERSECTS(pop, POINT(1 2))", "S_INTERSECTS needs geometries, but pop is number"),
        ("geometry = POINT(1 2)", "use S_EQUALS"),
        ("T_BEFORE(name, DATE('2020-01-01'))", "needs date or timestamp operands"),
        ("T_DURING(ts, INTERVAL('2020-01-01', '..'))", "use T_INTERSECTS"),
        ("name LIKE 5", "LIKE needs string operands"),
        ("pop + 1", "a filter must be a condition"),
        ("pop + name > 1", "needs number operands, but name is string"),
        ("NOT pop", "NOT needs boolean operands"),
        ("ACCENTI(name) = ACCENTI('a')", "ACCENTI is not supported"),
        ("A_CONTAINS(name, ('a'))", "unknown function or operator 'a_contains'"),
        ("INTERVAL('2020-01-01', '2019-01-01') IS NULL", "INTERVAL(...) can only be used"),
        (
            "T_DURING(INTERVAL(opened, closed), INTERVAL('2021-01-01', '2020-01-01'))",
            "starts (2021-01-01) after it ends",
        ),
        ("S_INTERSECTS(geometry, BBOX(1, 3, 2, 2))", "a minimum exceeds its maximum"),
    ],
)
def test_invalid_filters_raise_actionable_errors(text: str, expected_message: str) -> None:
    with pytest.raises(InvalidParameter) as error:
        compile_text(text)
    assert expected_message in error.value.message


@pytest.mark.parametrize(
    ("text", "expected_message"),
    [
        ("name = ", "expected an expression at the end"),
        ("name = 'abc", "unterminated character literal"),
        ("pop > 5 pop", "at character 9 (near 'pop')"),
        ("S_INTERSECTS(geometry, POINT(1 2)", "expected ')'"),
        ("S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1)))", "invalid WKT geometry"),
        ("opened = DATE('2020-13-01')", "not a valid date"),
        ("name = 'a' AND", "expected an expression"),
        ("name = NULL", "test for it with 'property IS NULL'"),
        ("(" * 150 + "pop = 1" + ")" * 150, "nests more than"),
    ],
)
def test_text_syntax_errors_point_at_the_problem(text: str, expected_message: str) -> None:
    with pytest.raises(InvalidParameter) as error:
        parse_filter(text, "cql2-text")
    assert "invalid cql2-text filter" in error.value.message
    assert expected_message in error.value.message


@pytest.mark.parametrize(
    ("document", "expected_message"),
    [
        ("{", "not valid JSON"),
        ('{"op": "=", "args": [{"property": "pop"}, NaN]}', "not valid JSON"),
        ('{"op": "=", "args": [{"propertee": "pop"}, 1]}', "at $.args[0]: unrecognised object"),
        ('{"op": "=", "args": 5}', "needs an args array"),
        ('{"op": "t_before", "args": [{"property": "ts"}, {"timestamp": "yesterday"}]}',
         "is not a timestamp"),
    ],
)  # fmt: skip
def test_json_syntax_errors_give_the_path(document: str, expected_message: str) -> None:
    with pytest.raises(InvalidParameter) as error:
        parse_filter(document, "cql2-json")
    assert expected_message in error.value.message


def test_unsupported_filter_lang() -> None:
    with pytest.raises(InvalidParameter, match="filter-lang 'ecql' is not supported"):
        compile_text("pop = 1", "ecql")


def test_query_parameters_become_typed_equalities(cql2_db: psycopg.Connection[Any]) -> None:
    tree = query_parameters_filter({"urban": "true", "limit": "10", "pop": "1040000"}, QUERYABLES)
    assert tree is not None
    assert select_fids(cql2_db, compile_text(tree)) == {2}
    assert query_parameters_filter({"limit": "10"}, QUERYABLES) is None
    with pytest.raises(InvalidParameter, match="pop='many' is not a valid integer"):
        query_parameters_filter({"pop": "many"}, QUERYABLES)


def test_queryables_json_schema() -> None:
    document = queryables_json_schema("广州 districts", QUERYABLES, "https://onemap.example/")
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == (
        "https://onemap.example/collections/%E5%B9%BF%E5%B7%9E%20districts/queryables"
    )
    assert document["type"] == "object"
    assert document["additionalProperties"] is False
    properties = document["properties"]
    assert properties["name"] == {"type": "string", "title": "名称"}
    assert properties["pop"] == {"type": "integer", "title": "pop"}
    assert properties["opened"] == {"type": "string", "format": "date", "title": "opened"}
    assert properties["ts"]["format"] == "date-time"
    assert properties["geometry"] == {"format": "geometry-multipolygon", "title": "geometry"}


def test_conformance_classes() -> None:
    classes = conformance_classes()
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in classes
    assert "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2" in classes
    assert "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions" in classes
    assert not any(c.endswith("accent-insensitive-comparison") for c in classes)
    assert len(classes) == len(set(classes))
