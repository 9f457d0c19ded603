"""Every input format departments send arrives intact in EPSG:4490."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import rasterio

from ingest.datum import load_datum_shifts
from ingest.raster import is_cog
from layers.catalog import Catalog
from layers.errors import IngestError
from tests.ingest import builders
from tests.ingest.conftest import Publish, rows


def names_of(url: str, catalog: Catalog, layer_id: str, column: str = "f_") -> set[str]:
    layer = catalog.get(layer_id)
    text_fields = [f.name for f in layer.fields if f.type == "string"]
    query = f'SELECT {text_fields[0]} FROM onemap_data."{layer.table_name}"'
    return {r[0] for r in rows(url, query)}


def test_gbk_shapefile_with_cpg(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    result = publish(builders.gbk_shapefile(tmp_path), layer_id)
    assert result.detected["encoding"] == "GB18030" and result.detected["encoding_from"] == "cpg"
    layer = catalog().get(layer_id)
    assert [f.source_name for f in layer.fields] == ["名称", "ADCODE", "学生数"]
    assert names_of(migrated_url, catalog(), layer_id) >= {"华南师大附中", "越秀小学"}


def test_gbk_shapefile_without_cpg_is_detected(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    shp = builders.copy_shared_county_shapefile(tmp_path, cpg=False)
    result = publish(shp, layer_id)
    assert result.detected["encoding"] == "GB18030"
    assert result.detected["encoding_from"] in ("detected", "ldid")
    found = rows(
        migrated_url,
        f'SELECT name FROM onemap_data."{catalog().get(layer_id).table_name}" '
        "WHERE adcode = '440104'",
    )
    assert found == [("越秀区",)]


def test_wrong_forced_encoding_is_refused(publish: Publish, layer_id: str, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="schools_gbk"):
        publish(builders.gbk_shapefile(tmp_path), layer_id, encoding="UTF-8")


def test_gauss_kruger_zone_is_reprojected(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    result = publish(builders.copy_shared_county_shapefile(tmp_path), layer_id)
    assert result.detected["crs"] == "EPSG:4547"
    layer = catalog().get(layer_id)
    ((x, y),) = rows(
        migrated_url,
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p "
        f"FROM onemap_data.\"{layer.table_name}\" WHERE adcode = '440106') s",
    )
    assert 113.25 < x < 113.5 and 23.05 < y < 23.3  # Tianhe, Guangzhou
    assert layer.storage_srid == 4490


def test_zipped_shapefile_and_zip_without_shp(
    publish: Publish, layer_id: str, tmp_path: Path
) -> None:
    shp = builders.gbk_shapefile(tmp_path / "src")
    archive = builders.zipped(builders.shapefile_parts(shp), tmp_path / "schools.zip")
    assert publish(archive, layer_id).features_out == 4
    dbf_only = builders.zipped([shp.with_suffix(".dbf")], tmp_path / "broken.zip")
    with pytest.raises(IngestError, match=r"broken\.zip: the zip holds no \.shp"):
        publish(dbf_only, layer_id + "-b")


@pytest.mark.parametrize(
    ("suffix", "driver"),
    [
        ("geojson", "GeoJSON"),
        ("geojsonl", "GeoJSONSeq"),
        ("kml", "KML"),
        ("fgb", "FlatGeobuf"),
    ],
)
def test_vector_formats(
    publish: Publish, layer_id: str, tmp_path: Path, suffix: str, driver: str
) -> None:
    frame = builders.SCHOOLS.to_crs("EPSG:4326")
    path = builders.write(frame, tmp_path / f"schools.{suffix}", driver=driver)
    result = publish(path, layer_id)
    assert result.features_out == 4


def test_geopackage_layer_choice(publish: Publish, layer_id: str, tmp_path: Path) -> None:
    gpkg = builders.SHARED / "guangdong_admin_cnmaps.gpkg"
    with pytest.raises(IngestError, match=r"has 3 layers.*--source-layer"):
        publish(gpkg, layer_id)
    assert publish(gpkg, layer_id, source_layer="gd_city").features_out == 21


def test_filegdb_folder(publish: Publish, layer_id: str, tmp_path: Path) -> None:
    gdb = builders.write(builders.SCHOOLS, tmp_path / "schools.gdb", driver="OpenFileGDB")
    assert publish(gdb, layer_id).features_out == 4


def test_csv_with_chinese_coordinate_columns_in_gbk(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    csv = tmp_path / "stations.csv"
    csv.write_bytes(
        "站名,经度,纬度,PM25\n天河站,113.36,23.13,35\n越秀站,113.27,23.13,41\n".encode("gbk")
    )
    result = publish(csv, layer_id)
    assert result.features_out == 2 and result.detected["encoding"] == "GB18030"
    layer = catalog().get(layer_id)
    assert layer.geometry_type == "Point"
    assert [f.source_name for f in layer.fields] == ["站名", "PM25"]
    found = rows(
        migrated_url, f'SELECT field_1, pm25 FROM onemap_data."{layer.table_name}" ORDER BY 1'
    )
    assert found == [("天河站", 35), ("越秀站", 41)]


def test_csv_with_wkt_column(publish: Publish, layer_id: str, tmp_path: Path) -> None:
    csv = tmp_path / "zones.csv"
    csv.write_text('name,wkt\nA,"POLYGON((113 23,113.1 23,113.1 23.1,113 23))"\n', "utf-8")
    assert publish(csv, layer_id).features_out == 1


def test_geotiff_becomes_a_cog_raster_layer(
    publish: Publish, catalog: Callable[[], Catalog], layer_id: str, tmp_path: Path
) -> None:
    result = publish(builders.dem_geotiff(tmp_path / "dem.tif"), layer_id)
    layer = catalog().get(layer_id)
    assert result.kind == "raster" and layer.kind == "raster"
    assert layer.asset_path and is_cog(Path(layer.asset_path))
    with rasterio.open(layer.asset_path) as ds:
        assert ds.crs.to_epsg() == 4490 and ds.read(1)[0, 1] == 1.0
    assert layer.extent == pytest.approx((113.0, 23.5, 114.0, 24.0))


def test_missing_crs_is_inferred_with_a_warning(
    publish: Publish, layer_id: str, tmp_path: Path
) -> None:
    path = builders.write(
        builders.SCHOOLS.set_crs(None, allow_override=True), tmp_path / "nocrs.shp"
    )  # no .prj (GeoJSON would imply CRS84)
    result = publish(path, layer_id)
    assert result.detected["crs"] == "EPSG:4490" and result.detected["crs_from"] == "inferred"
    assert any("CGCS2000" in w for w in result.warnings)


def test_unprefixed_gauss_kruger_without_crs_is_refused(
    publish: Publish, layer_id: str, tmp_path: Path
) -> None:
    path = builders.gauss_kruger_points(tmp_path / "gk.shp", 4547, with_crs=False)
    with pytest.raises(IngestError, match="--source-crs"):
        publish(path, layer_id)
    assert publish(path, layer_id, source_crs="EPSG:4547").features_out == 4


def test_xian80_warns_about_the_ballpark_shift_or_refuses(
    publish: Publish, layer_id: str, tmp_path: Path
) -> None:
    path = builders.gauss_kruger_points(tmp_path / "x80.shp", 2383)  # Xi'an 1980 3° CM 114E
    result = publish(path, layer_id)
    assert result.detected["ballpark_transformation"] is True
    assert any("tens of metres" in w for w in result.warnings)
    with pytest.raises(IngestError):
        publish(path, layer_id + "-r", datum_policy="refuse")


def test_gcj02_source_is_converted(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    path = builders.write(builders.SCHOOLS.to_crs("EPSG:4326"), tmp_path / "amap.geojson")
    result = publish(path, layer_id, source_crs="gcj02")
    assert result.detected["gcj02_round_trip_error_m"] < 0.01
    layer = catalog().get(layer_id)
    ((dx,),) = rows(migrated_url, f'SELECT min(ST_X(geom)) FROM onemap_data."{layer.table_name}"')
    assert 113.27 - dx > 0.004, "GCJ-02 → CGCS2000 moves Guangzhou points west by ~500 m"


def test_lineage_is_kept_with_the_version(
    catalog: Callable[[], Catalog],
    publish: Publish,
    migrated_url: str,
    layer_id: str,
    tmp_path: Path,
) -> None:
    publish(builders.gbk_shapefile(tmp_path), layer_id)
    ((lineage,),) = rows(
        migrated_url, "SELECT lineage FROM onemap.layer_versions WHERE layer_id = %s", layer_id
    )
    assert lineage["source"] == "schools_gbk.shp" and len(lineage["sha256"]) == 64
    assert lineage["encoding"] == "GB18030" and lineage["crs"] == "EPSG:4490"
    assert lineage["features_in"] == lineage["features_out"] == 4
    assert {"who", "at", "duration_s", "size", "repairs", "transformation"} <= set(lineage)
    json.dumps(lineage)  # plain JSON, readable by any client


def test_zone_prefixed_gauss_kruger_declared_and_inferred(
    publish: Publish, layer_id: str, tmp_path: Path
) -> None:
    declared = builders.gauss_kruger_points(tmp_path / "gk38.shp", 4526)  # 3° zone 38, prefixed
    assert publish(declared, layer_id).detected["crs"] == "EPSG:4526"
    bare = builders.gauss_kruger_points(tmp_path / "bare" / "gk38.shp", 4526, with_crs=False)
    result = publish(bare, layer_id + "-bare")
    assert result.detected["crs"] == "EPSG:4526" and result.detected["crs_from"] == "inferred"
    assert any("inferred" in w or "assum" in w for w in result.warnings)


def test_configured_datum_shift_is_used_and_recorded(
    publish: Publish, migrated_url: str, layer_id: str, tmp_path: Path
) -> None:
    config = tmp_path / "shifts.json"
    config.write_text(
        json.dumps(
            {
                "shifts": [
                    {
                        "name": "GD-X80-test",
                        "source_datum": "xian1980",
                        "area": {"name": "Guangdong", "bbox": [109.0, 20.0, 118.0, 26.0]},
                        "parameters": {
                            "kind": "helmert7",
                            "tx": 20.0,
                            "ty": -30.0,
                            "tz": 10.0,
                            "rx": 0.5,
                            "ry": -0.3,
                            "rz": 0.2,
                            "ds": 1.5,
                            "convention": "coordinate_frame",
                        },
                    }
                ]
            }
        ),
        "utf-8",
    )
    path = builders.gauss_kruger_points(tmp_path / "x80.shp", 2383)
    result = publish(path, layer_id, datum_shifts=load_datum_shifts(config))
    assert result.detected["ballpark_transformation"] is False
    assert "GD-X80-test" in result.detected["transformation"]
    assert not any("tens of metres" in w for w in result.warnings)
    ((lineage,),) = rows(
        migrated_url, "SELECT lineage FROM onemap.layer_versions WHERE layer_id = %s", layer_id
    )
    assert "GD-X80-test" in lineage["transformation"]


def test_kmz(publish: Publish, layer_id: str, tmp_path: Path) -> None:
    kml = builders.write(builders.SCHOOLS.to_crs("EPSG:4326"), tmp_path / "doc.kml", driver="KML")
    kmz = builders.zipped([kml], tmp_path / "schools.kmz")
    assert publish(kmz, layer_id).features_out == 4
