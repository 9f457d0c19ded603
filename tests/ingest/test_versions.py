"""Versions, atomic swap, rollback, repairs, lineage and bad input that changes nothing."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
from shapely.geometry import Point

from layers.catalog import Catalog
from layers.errors import Conflict, IngestError, NotFound
from layers.versions import drop_orphans, rollback
from tests.ingest import builders
from tests.ingest.conftest import Publish, rows


def _count(url: str, catalog: Catalog, layer_id: str) -> int:
    table = catalog.get(layer_id).table_name
    return int(rows(url, f'SELECT count(*) FROM onemap_data."{table}"')[0][0])


def _two_versions(publish: Publish, layer_id: str, tmp_path: Path) -> None:
    publish(builders.gbk_shapefile(tmp_path / "v1"), layer_id)
    bigger = builders.SCHOOLS.iloc[:2]
    publish(builders.write(bigger, tmp_path / "v2" / "schools.gpkg"), layer_id, new=False)


def test_new_version_keeps_the_old_one_and_the_stable_view_follows(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    _two_versions(publish, layer_id, tmp_path)
    layer = catalog().get(layer_id)
    assert layer.version == 2 and layer.feature_count == 2
    versions = rows(
        migrated_url,
        "SELECT version, feature_count FROM onemap.layer_versions "
        "WHERE layer_id = %s ORDER BY version",
        layer_id,
    )
    assert versions == [(1, 4), (2, 2)]
    assert rows(migrated_url, f'SELECT count(*) FROM onemap_data."{layer_id}"') == [(2,)]


def test_rollback_restores_the_previous_version(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    _two_versions(publish, layer_id, tmp_path)
    with psycopg.connect(migrated_url) as conn:
        assert rollback(conn, layer_id) == 1
    assert catalog().get(layer_id).version == 1
    assert _count(migrated_url, catalog(), layer_id) == 4
    assert rows(migrated_url, f'SELECT count(*) FROM onemap_data."{layer_id}"') == [(4,)]
    with psycopg.connect(migrated_url) as conn, pytest.raises(NotFound, match="no version 9"):
        rollback(conn, layer_id, 9)


def test_identical_file_is_a_recorded_no_op(
    publish: Publish, migrated_url: str, layer_id: str, tmp_path: Path
) -> None:
    shp = builders.gbk_shapefile(tmp_path)
    publish(shp, layer_id)
    again = publish(shp, layer_id, new=False)
    assert again.skipped and again.version == 1 and "nothing to do" in again.summary()
    statuses = rows(
        migrated_url,
        "SELECT status FROM onemap.ingest_runs WHERE layer_id = %s ORDER BY id",
        layer_id,
    )
    assert statuses == [("published",), ("unchanged",)]


def test_name_clash_is_refused_and_changes_nothing(
    publish: Publish, catalog: Callable[[], Catalog], layer_id: str, tmp_path: Path
) -> None:
    publish(builders.gbk_shapefile(tmp_path / "a"), layer_id)
    other = builders.write(builders.SCHOOLS.iloc[:1], tmp_path / "b" / "other.gpkg")
    with pytest.raises(Conflict, match=f"--layer {layer_id}"):
        publish(other, layer_id, new=True)
    assert catalog().get(layer_id).version == 1


@pytest.mark.parametrize("make_bad", ["truncated", "empty", "not_a_zip", "outside", "open_ring"])
def test_bad_input_fails_clearly_and_leaves_the_layer_as_it_was(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
    make_bad: str,
) -> None:
    good = builders.gbk_shapefile(tmp_path / "good")
    publish(good, layer_id)
    before = catalog().get(layer_id)
    bad = _bad_file(make_bad, good, tmp_path / "bad")
    with pytest.raises(IngestError) as caught:
        publish(bad, layer_id, new=False)
    assert bad.name in caught.value.message
    after = catalog().get(layer_id)
    assert (after.version, after.table_name) == (before.version, before.table_name)
    assert _count(migrated_url, catalog(), layer_id) == 4
    ((status, error),) = rows(
        migrated_url,
        "SELECT status, error FROM onemap.ingest_runs WHERE layer_id = %s ORDER BY id DESC LIMIT 1",
        layer_id,
    )
    assert status == "failed" and bad.name in error


def _bad_file(kind: str, good: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    if kind == "truncated":
        return builders.truncated_copy(good, folder)
    if kind == "empty":
        return builders.write(builders.SCHOOLS.iloc[:0], folder / "empty.gpkg")
    if kind == "open_ring":  # loaded unparsed: PostGIS, not GEOS, refuses it
        return builders.gpkg_with_open_ring(folder / "open_ring.gpkg")
    if kind == "not_a_zip":
        path = folder / "data.zip"
        path.write_bytes(b"PK\x03\x04 not really")
        return path
    nowhere = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(5e8, 5e8)])
    return builders.write(nowhere, folder / "nowhere.shp")


def test_repairs_are_counted_and_fields_normalised(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    result = publish(builders.messy_polygons(tmp_path / "messy.geojson"), layer_id)
    assert result.features_in == 4 and result.features_out == 3
    assert result.repairs["made_valid"] == 1 and result.repairs["dropped_empty"] == 1
    # The bow-tie comes out of make_valid as two triangles, already a MultiPolygon.
    assert result.repairs["promoted_to_multi"] == 1 and result.repairs["dropped_z"] == 1
    layer = catalog().get(layer_id)
    assert layer.geometry_type == "MultiPolygon"
    assert [(f.name, f.source_name) for f in layer.fields] == [
        ("name_of_site", "Name Of Site"),
        ("field_2", "类别"),
    ]
    invalid = rows(
        migrated_url,
        f'SELECT count(*) FROM onemap_data."{layer.table_name}" '
        "WHERE NOT ST_IsValid(geom) OR ST_NDims(geom) > 2",
    )
    assert invalid == [(0,)]


def test_z_kept_on_request(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    frame = gpd.GeoDataFrame({"h": [1.0]}, geometry=[Point(113.3, 23.1, 12.5)], crs="EPSG:4490")
    publish(builders.write(frame, tmp_path / "z.gpkg"), layer_id, keep_z=True)
    table = catalog().get(layer_id).table_name
    assert rows(migrated_url, f'SELECT ST_Z(geom) FROM onemap_data."{table}"') == [(12.5,)]


def test_admin_level_and_code_inferred_from_codes(
    publish: Publish, catalog: Callable[[], Catalog], layer_id: str, tmp_path: Path
) -> None:
    tianhe = builders.SCHOOLS[builders.SCHOOLS["ADCODE"] == "440106"]
    publish(builders.write(tianhe, tmp_path / "tianhe.gpkg"), layer_id)
    layer = catalog().get(layer_id)
    assert (layer.level, layer.adcode) == ("county", "440106")
    publish(builders.gbk_shapefile(tmp_path / "gz"), layer_id + "-gz")
    layer = catalog().get(layer_id + "-gz")
    assert (layer.level, layer.adcode) == ("city", "440100")


def test_orphaned_tables_are_dropped(migrated_url: str, catalog: Callable[[], Catalog]) -> None:
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE onemap_data.leftover_v1 (fid bigint)")
        dropped = drop_orphans(conn)
    assert "leftover_v1" in dropped
    assert all(layer.table_name not in dropped for layer in catalog())


def test_registered_tile_overviews_are_not_orphans(migrated_url: str) -> None:
    """Overviews are derived tables the tile service registers; a restart must keep them."""
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE onemap_data.ovw_0123456789abcdef (fid bigint)")
        conn.execute(
            "INSERT INTO onemap.tile_overviews (table_name, layer_id, version, family, "
            "max_level, row_count) VALUES ('ovw_0123456789abcdef', 'x', 1, 'mercator', 10, 0)"
        )
        try:
            assert "ovw_0123456789abcdef" not in drop_orphans(conn)
            assert conn.execute("SELECT to_regclass('onemap_data.ovw_0123456789abcdef')").fetchone()
        finally:
            conn.execute("DROP TABLE onemap_data.ovw_0123456789abcdef")
            conn.execute("DELETE FROM onemap.tile_overviews WHERE layer_id = 'x'")


def _measured_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / "m.csv"
    csv.write_text(
        'id,wkt\n1,"POINT M (113.3 23.1 5)"\n2,"LINESTRING ZM (113 23 1 2, 113.1 23.1 1 3)"\n',
        "utf-8",
    )
    target = folder / "m.gpkg"
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "GPKG",
            str(target),
            str(csv),
            "-oo",
            "GEOM_POSSIBLE_NAMES=wkt",
            "-a_srs",
            "EPSG:4490",
            "-nlt",
            "GEOMETRY",
        ],
        check=True,
        capture_output=True,
    )
    return target


def test_m_is_dropped_and_z_kept_on_request(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    source = _measured_file(tmp_path)
    flat = publish(source, layer_id)
    assert flat.repairs["dropped_m"] == 2 and flat.repairs["dropped_z"] == 1
    table = catalog().get(layer_id).table_name
    assert rows(migrated_url, f'SELECT max(ST_NDims(geom)) FROM onemap_data."{table}"') == [(2,)]
    publish(source, layer_id + "-z", keep_z=True)
    table = catalog().get(layer_id + "-z").table_name
    dims = rows(
        migrated_url,
        "SELECT ST_Z(p), ST_M(p) FROM (SELECT ST_StartPoint(ST_GeometryN(geom, 1)) AS p "
        f'FROM onemap_data."{table}" WHERE ST_Dimension(geom) = 1) AS first_points',
    )
    assert dims == [(1.0, None)], "Z of an XYZM line is kept, its M dropped"
