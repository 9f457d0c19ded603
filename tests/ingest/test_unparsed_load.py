"""Plain 2D WKB loads unparsed and is validated after COPY, before the version is published."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pyarrow as pa
import pyogrio.raw
import pytest
import shapely
import shapely.geometry
from shapely.geometry import MultiPolygon, Polygon, box

from ingest import copybinary
from ingest.deferred_check import DeferredCheck
from ingest.digest import file_sha256, hash_in_background
from ingest.feature_ids import FeatureIds
from ingest.wkb_header import read_headers
from layers.catalog import Catalog
from layers.errors import IngestError
from tests.ingest import builders
from tests.ingest.conftest import Publish, rows

BOWTIE = Polygon([(113.0, 23.0), (113.1, 23.1), (113.1, 23.0), (113.0, 23.1), (113.0, 23.0)])
# A multipolygon whose only part is empty: its header says one part, GEOS says empty.
HOLLOW_MULTI = shapely.from_wkb(bytes.fromhex("01060000000100000001030000000000000000"))


def _polygons(path: Path, geometries: list[object]) -> Path:
    frame = gpd.GeoDataFrame(
        {"name": [f"p{i}" for i in range(len(geometries))]}, geometry=geometries, crs="EPSG:4490"
    )
    return builders.write(frame, path)


@pytest.fixture
def checked_ranges(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The row ranges each load handed to the deferred check (proves the path was taken)."""
    seen: list[tuple[int, int]] = []
    start = DeferredCheck.start

    def spy(self: DeferredCheck) -> None:
        seen.extend((span.start, span.stop) for span in self.spans)
        start(self)

    monkeypatch.setattr(DeferredCheck, "start", spy)
    return seen


def test_unparsed_rows_are_validated_repaired_and_trimmed(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
    checked_ranges: list[tuple[int, int]],
) -> None:
    good = [box(113.2 + i / 10, 23.0, 113.25 + i / 10, 23.05) for i in range(5)]
    geometries = [*good, BOWTIE, Polygon(), BOWTIE, HOLLOW_MULTI]
    result = publish(_polygons(tmp_path / "plain.gpkg", geometries), layer_id)
    assert checked_ranges == [(0, 9)]  # GDAL stores all nine as multipolygons
    assert result.features_in == 9 and result.features_out == 7
    assert result.repairs["made_valid"] == 2, "both copies of the bow-tie"
    assert result.repairs["dropped_empty"] == 2, "both hollow multis"
    layer = catalog().get(layer_id)
    stored = rows(
        migrated_url,
        f'SELECT name, ST_IsValid(geom), GeometryType(geom) FROM onemap_data."{layer.table_name}"'
        " ORDER BY fid",
    )
    assert [r[0] for r in stored] == ["p0", "p1", "p2", "p3", "p4", "p5", "p7"]
    assert all(r[1] for r in stored) and {r[2] for r in stored} == {"MULTIPOLYGON"}
    expected = shapely.total_bounds(np.array([*good, BOWTIE]))
    assert layer.extent == pytest.approx(list(expected))


def test_only_the_unparsed_batches_are_checked(
    publish: Publish, layer_id: str, tmp_path: Path, checked_ranges: list[tuple[int, int]]
) -> None:
    """A batch with a Z geometry takes the full path; its repairs are not counted twice."""
    tall = Polygon([(113.2, 23.0, 5), (113.3, 23.0, 5), (113.3, 23.1, 5), (113.2, 23.0, 5)])
    geometries = [box(113, 23, 113.1, 23.1), BOWTIE, tall, BOWTIE, box(114, 23, 114.1, 23.1)]
    result = publish(_polygons(tmp_path / "mixed.gpkg", geometries), layer_id, batch_rows=2)
    assert checked_ranges == [(0, 2), (4, 5)]
    assert result.repairs["made_valid"] == 2 and result.repairs["dropped_z"] == 1
    assert result.features_out == 5


def test_headers_say_type_and_emptiness_of_plain_wkb_only() -> None:
    geoms = [shapely.Point(1, 2), shapely.Point(), box(0, 0, 1, 1), Polygon(), HOLLOW_MULTI]
    headers = read_headers(pa.array(shapely.to_wkb(geoms), pa.binary()))
    assert headers is not None
    assert list(headers.type_ids) == [0, 0, 3, 3, 6]
    assert list(headers.empty) == [False, True, False, True, False], "GEOS decides the last"
    for odd in (
        shapely.Point(1, 2, 3),  # Z
        shapely.GeometryCollection([shapely.Point(1, 2)]),
        MultiPolygon([box(0, 0, 1, 1)]),  # fine alone, but written big-endian below
    ):
        big_endian = odd.geom_type == "MultiPolygon"
        wkb = shapely.to_wkb(odd, byte_order=0 if big_endian else 1)
        assert read_headers(pa.array([wkb], pa.binary())) is None, odd.wkt
    assert read_headers(pa.array([None, shapely.to_wkb(box(0, 0, 1, 1))], pa.binary())) is None


def test_feature_id_blocks_never_overlap(migrated_url: str) -> None:
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        ids = FeatureIds.reserve(conn, migrated_url, 3)
        other = FeatureIds.reserve(conn, migrated_url, 10)
        first = ids.take(2)
        overflow = ids.take(5)  # more than the file declared: a further block
        others = other.take(10)
    taken = np.concatenate([first, overflow, others])
    assert len(set(taken.tolist())) == len(taken) == 17
    assert list(np.diff(first)) == [1] and list(np.diff(overflow)) == [1] * 4
    unknown = FeatureIds(migrated_url)  # a source that did not say how many it holds
    assert len(unknown.take(4)) == 4


def test_naive_timestamps_load_through_the_text_encoding(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    naive = [dt.datetime(2024, 5, 1, 8, 30), dt.datetime(1999, 12, 31, 23, 59, 59)]
    features = [
        {
            "type": "Feature",
            "properties": {"seen": when.isoformat(), "note": note},
            "geometry": shapely.geometry.mapping(box(113, 23, 113.1, 23.1)),
        }
        for when, note in zip(naive, ["a\tb", "c"], strict=True)
    ]
    path = tmp_path / "naive.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pyogrio.raw.open_arrow(path, use_pyarrow=True) as (_, reader):
        assert not copybinary.supports(reader.schema), "GDAL reads them as naive"
    publish(path, layer_id)
    table = catalog().get(layer_id).table_name
    stored = rows(
        migrated_url,
        f"SELECT seen AT TIME ZONE 'Asia/Shanghai', note FROM onemap_data.\"{table}\" ORDER BY fid",
    )
    assert [r[0] for r in stored] == naive, "read as China Standard Time (ingest.datetimes)"
    assert [r[1] for r in stored] == ["a\tb", "c"]


def test_the_source_is_hashed_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"onemap" * 100_000)
    direct = file_sha256(path)
    hash_in_background(path)
    assert file_sha256(path) == direct
    assert direct[1] == 600_000


def test_many_repairs_are_applied_in_one_pass(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    """20,000 bow-ties: the fixes spill to a file (over 1 MB) and go back by COPY."""
    bowties = [
        shapely.transform(BOWTIE, lambda xy, i=i: xy + np.array([i % 100 / 200, i // 100 / 200]))
        for i in range(20_000)
    ]
    result = publish(_polygons(tmp_path / "bowties.gpkg", bowties), layer_id)
    assert result.repairs["made_valid"] == 20_000 and result.features_out == 20_000
    table = catalog().get(layer_id).table_name
    assert rows(
        migrated_url,
        f"SELECT count(*) FILTER (WHERE NOT ST_IsValid(geom)), count(DISTINCT fid) "
        f'FROM onemap_data."{table}"',
    ) == [(0, 20_000)]


def test_a_feature_postgis_refuses_is_named(
    publish: Publish, layer_id: str, tmp_path: Path
) -> None:
    with pytest.raises(IngestError) as caught:
        publish(builders.gpkg_with_open_ring(tmp_path / "open.gpkg"), layer_id)
    message = caught.value.message
    assert "open.gpkg" in message and "feature 2 as loaded" in message and "four points" in message
