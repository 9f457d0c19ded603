"""Attribute values and geometries survive both COPY encodings exactly, whatever they hold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import psycopg
import pyarrow as pa
import pytest
import shapely
from shapely.geometry import Point

from ingest import copybinary
from ingest.copytext import geometry_column, payload, text_column, wkb_hex
from layers.catalog import SQL_TYPES, Catalog
from tests.ingest import builders
from tests.ingest.conftest import Publish, rows

TRICKY = ["tab\there", "new\nline", "back\\slash", "cr\rhere", "\\N", "", None, "天河区\t越秀"]
UTC = dt.UTC
# One column per catalog type, each with a NULL and the values most likely to go wrong.
COLUMNS: dict[str, tuple[str, pa.Array]] = {
    "text": ("string", pa.array(TRICKY)),
    "count": ("integer", pa.array([1, -2, None, 2**62, 0, -(2**62), 6, 7], pa.int64())),
    "small": ("integer", pa.array([1, None, -3, 4, 5, 6, 7, 127], pa.int8())),
    "ratio": ("number", pa.array([0.1, float("nan"), None, 1e300, -0.0, 5e-324, 1 / 3, 7.0])),
    "flag": ("boolean", pa.array([True, False, None, True, False, True, False, True])),
    "day": (
        "date",
        pa.array([dt.date(2024, 2, 29), None, dt.date(1999, 12, 31), *[dt.date(1, 1, 1)] * 5]),
    ),
    "seen": (
        "timestamp",
        pa.array(
            [dt.datetime(2024, 5, 1, 8, 30, 0, 123456, UTC), None]
            + [dt.datetime(1970, 1, 1, tzinfo=UTC)] * 6,
            pa.timestamp("us", tz="UTC"),
        ),
    ),
}


def test_tricky_values_round_trip_through_postgis(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    n = len(TRICKY)
    frame = gpd.GeoDataFrame(
        {
            "text": TRICKY,
            "count": pd_ints([1, -2, None, 2**40, 0, 5, 6, 7]),
            "ratio": [0.1, float("nan"), None, 1e300, -0.0, 2.5, 1 / 3, 7.0],
            "flag": [True, False, False, True, False, True, False, True],
            "day": [dt.date(2024, 2, 29), None, *[dt.date(2000, 1, 1)] * (n - 2)],
        },
        geometry=[Point(113 + i / 100, 23) for i in range(n)],
        crs="EPSG:4490",
    )
    publish(builders.write(frame, tmp_path / "tricky.gpkg"), layer_id)
    table = catalog().get(layer_id).table_name
    stored = rows(
        migrated_url,
        f'SELECT text, count, ratio, flag, day FROM onemap_data."{table}" ORDER BY fid',
    )
    assert [r[0] for r in stored] == TRICKY
    assert [r[1] for r in stored] == [1, -2, None, 2**40, 0, 5, 6, 7]
    ratios = [r[2] for r in stored]
    # pandas writes NaN to a GeoPackage as NULL; both encoders' NaN is tested below.
    assert ratios[0] == 0.1 and ratios[1] is None and ratios[2] is None and ratios[3] == 1e300
    assert ratios[6] == 1 / 3, "floats keep full precision"
    assert [r[3] for r in stored] == [True, False, False, True, False, True, False, True]
    assert str(stored[0][4]) == "2024-02-29" and stored[1][4] is None


def pd_ints(values: list[int | None]) -> object:
    import pandas as pd

    return pd.array(values, dtype="Int64")


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "text"])
def test_every_type_round_trips_through_either_encoding(migrated_url: str, binary: bool) -> None:
    geoms = np.array([Point(113 + i / 10, 23) for i in range(len(TRICKY))])
    wkb = pa.array(shapely.to_wkb(geoms), pa.binary())
    promote = shapely.get_type_id(geoms)  # points → one-part multipoints
    names = list(COLUMNS)
    columns = [f"{name} {SQL_TYPES[kind]}" for name, (kind, _) in COLUMNS.items()]
    with psycopg.connect(migrated_url) as conn:
        conn.execute(
            f"CREATE TEMP TABLE copied ({', '.join(columns)}, geom geometry(MultiPoint, 4490))"
        )
        statement = f"COPY copied ({', '.join(names)}, geom) FROM STDIN"
        with conn.cursor().copy(statement + (" WITH (FORMAT binary)" if binary else "")) as copy:
            copy.write(_encode(binary, wkb, promote))
        stored = conn.execute(
            f"SELECT {', '.join(names)}, ST_AsText(geom), ST_SRID(geom) FROM copied"
        ).fetchall()
    expected = [column.to_pylist() for _, column in COLUMNS.values()]
    for index, name in enumerate(names):
        got = [row[index] for row in stored]
        _assert_same(name, got, expected[index])
    back = shapely.from_wkt([row[-2] for row in stored])
    assert list(shapely.get_type_id(back)) == [4] * len(geoms), "stored as one-part multis"
    assert shapely.equals(shapely.get_geometry(back, 0), geoms).all()
    assert {row[-1] for row in stored} == {4490}, "the column's SRID is filled in"


def _encode(binary: bool, wkb: pa.Array, promote: np.ndarray) -> bytes:
    if binary:
        fields = [copybinary.attribute_field(column, kind) for kind, column in COLUMNS.values()]
        body = copybinary.rows([*fields, copybinary.geometry_field(wkb, promote, None)])
        return copybinary.SIGNATURE + bytes(body) + copybinary.TRAILER
    texts = [text_column(column, kind) for kind, column in COLUMNS.values()]
    return bytes(payload([*texts, geometry_column(wkb_hex(wkb), promote)]))


def _assert_same(name: str, got: list[Any], expected: list[Any]) -> None:
    if name != "ratio":
        assert got == expected, name
        return
    assert np.isnan(got[1]) and got[2] is None, "NaN stays NaN, NULL stays NULL"
    assert np.signbit(got[4]) and got[5] == 5e-324, "-0.0 and subnormals are kept"
    assert [v for i, v in enumerate(got) if i not in (1, 2)] == [
        v for i, v in enumerate(expected) if i not in (1, 2)
    ]


def test_naive_timestamps_take_the_text_encoding() -> None:
    naive = pa.schema([("seen", pa.timestamp("s"))])
    aware = pa.schema([("seen", pa.timestamp("s", tz="Asia/Shanghai")), ("name", pa.string())])
    assert not copybinary.supports(naive)
    assert copybinary.supports(aware)


def test_numbers_nan_and_nulls_as_copy_text() -> None:
    text = text_column(pa.array([1.5, float("nan"), None, 1e-320]), "number")
    assert text.to_pylist() == ["1.5", "NaN", "\\N", "1e-320"]
    assert text_column(pa.array([True, None]), "boolean").to_pylist() == ["true", "\\N"]


def test_text_payload_is_one_line_per_row() -> None:
    text = text_column(pa.array(["a\tb", None, "c"]), "string")
    hexed = geometry_column(pa.array(["00", "01", "02"]), np.full(3, -1, dtype=np.int32))
    body = bytes(payload([text, hexed])).decode()
    assert body == "a\\tb\t00\n\\N\t01\nc\t02\n"


def test_promoted_wkb_is_a_valid_multi_geometry() -> None:
    geoms = np.array([Point(1, 2), shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (1, 1)])])
    type_ids = shapely.get_type_id(geoms)
    hexed = geometry_column(wkb_hex(shapely.to_wkb(geoms)), type_ids)
    back = [shapely.from_wkb(h.rstrip("\n")) for h in hexed.to_pylist()]
    assert [g.geom_type for g in back] == ["MultiPoint", "MultiPolygon", "MultiLineString"]
    assert [g.geoms[0].equals(o) for g, o in zip(back, geoms, strict=True)] == [True] * 3
