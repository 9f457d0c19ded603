"""Attribute values survive the COPY text encoding exactly, whatever they contain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import shapely
from shapely.geometry import Point

from ingest.copytext import payload, promote_hex, text_column, wkb_hex
from layers.catalog import Catalog
from tests.ingest import builders
from tests.ingest.conftest import Publish, rows

TRICKY = ["tab\there", "new\nline", "back\\slash", "cr\rhere", "\\N", "", None, "天河区\t越秀"]


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
    # pandas writes NaN to a GeoPackage as NULL; text_column's NaN is tested below.
    assert ratios[0] == 0.1 and ratios[1] is None and ratios[2] is None and ratios[3] == 1e300
    assert ratios[6] == 1 / 3, "floats keep full precision"
    assert [r[3] for r in stored] == [True, False, False, True, False, True, False, True]
    assert str(stored[0][4]) == "2024-02-29" and stored[1][4] is None


def pd_ints(values: list[int | None]) -> object:
    import pandas as pd

    return pd.array(values, dtype="Int64")


def test_numbers_nan_and_nulls_as_copy_text() -> None:
    text = text_column(pa.array([1.5, float("nan"), None, 1e-320]), "number")
    assert text.to_pylist() == ["1.5", "NaN", "\\N", "1e-320"]
    assert text_column(pa.array([True, None]), "boolean").to_pylist() == ["true", "\\N"]


def test_payload_is_one_line_per_row() -> None:
    text = text_column(pa.array(["a\tb", None, "c"]), "string")
    body = bytes(payload([text, pa.array(["1", "2", "3"])])).decode()
    assert body == "a\\tb\t1\n\\N\t2\nc\t3\n"


def test_promoted_hex_is_a_valid_multi_geometry() -> None:
    geoms = np.array([Point(1, 2), shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (1, 1)])])
    hexed = promote_hex(wkb_hex(shapely.to_wkb(geoms)), shapely.get_type_id(geoms))
    back = [shapely.from_wkb(h) for h in hexed.to_pylist()]
    assert [g.geom_type for g in back] == ["MultiPoint", "MultiPolygon", "MultiLineString"]
    assert [g.geoms[0].equals(o) for g, o in zip(back, geoms, strict=True)] == [True] * 3
