"""Small source files built by the tests themselves: the shapes departments send."""

from __future__ import annotations

import shutil
import sqlite3
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import MultiPolygon, Point, Polygon, box

SHARED = Path(__file__).resolve().parents[2] / "ingest" / "sample"  # the bundled sample data
TEST_DATA = Path(__file__).resolve().parents[1] / "data"  # fixtures shipped for the tests
GBK_DIR = TEST_DATA / "gbk"

# Three "schools" in Guangzhou's Tianhe district (440106) and one in Yuexiu (440104).
SCHOOLS = gpd.GeoDataFrame(
    {
        "名称": ["华南师大附中", "天河中学", "广州中学", "越秀小学"],
        "ADCODE": ["440106", "440106", "440106", "440104"],
        "学生数": [3200, 2100, 1800, 900],
    },
    geometry=[
        Point(113.35, 23.14),
        Point(113.33, 23.13),
        Point(113.38, 23.17),
        Point(113.27, 23.13),
    ],
    crs="EPSG:4490",
)


def write(frame: gpd.GeoDataFrame, path: Path, **kwargs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_file(path, engine="pyogrio", **kwargs)
    return path


def gbk_shapefile(folder: Path, *, cpg: bool = True) -> Path:
    path = write(SCHOOLS, folder / "schools_gbk.shp", encoding="GBK")
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


def copy_shared_county_shapefile(folder: Path, *, cpg: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for part in GBK_DIR.glob("gd_county_cgcs2000_gk114e_gbk.*"):
        if cpg or part.suffix != ".cpg":
            shutil.copy(part, folder / part.name)
    for part in folder.iterdir():
        part.chmod(0o644)
    return folder / "gd_county_cgcs2000_gk114e_gbk.shp"


def zipped(files: list[Path], target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for file in files:
            zf.write(file, file.name)
    return target


def shapefile_parts(shp: Path) -> list[Path]:
    return sorted(shp.parent.glob(shp.stem + ".*"))


def truncated_copy(shp: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for part in shapefile_parts(shp):
        data = part.read_bytes()
        if part.suffix == ".shp":
            data = data[: len(data) // 3]
        (folder / part.name).write_bytes(data)
    return folder / shp.name


def messy_polygons(path: Path) -> Path:
    """A bow-tie (invalid), an empty geometry, a single and a multi polygon, with Z."""
    bowtie = Polygon([(113.0, 23.0), (113.1, 23.1), (113.1, 23.0), (113.0, 23.1), (113.0, 23.0)])
    single = Polygon([(113.2, 23.0, 5), (113.3, 23.0, 5), (113.3, 23.1, 5), (113.2, 23.0, 5)])
    multi = MultiPolygon([box(113.4, 23.0, 113.5, 23.1), box(113.6, 23.0, 113.7, 23.1)])
    frame = gpd.GeoDataFrame(
        {"Name Of Site": ["bowtie", "empty", "single", "multi"], "类别": ["a", "b", "c", "d"]},
        geometry=[bowtie, Polygon(), single, multi],
        crs="EPSG:4490",
    )
    return write(frame, path)


def gauss_kruger_points(path: Path, epsg: int, *, with_crs: bool = True) -> Path:
    frame = SCHOOLS.to_crs(f"EPSG:{epsg}")
    if not with_crs:
        frame = frame.set_crs(None, allow_override=True)
    return write(frame, path)


def dem_geotiff(path: Path) -> Path:
    data = np.arange(20 * 10, dtype="float32").reshape(10, 20)
    profile = {
        "driver": "GTiff",
        "width": 20,
        "height": 10,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": from_origin(113.0, 24.0, 0.05, 0.05),
        "nodata": -9999,
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data, 1)
    return path


def gpkg_with_open_ring(path: Path) -> Path:
    """A GeoPackage whose second polygon is a ring of three points, not closed.

    GDAL reads it; GEOS and PostGIS both refuse it. The blob is swapped in with SQLite
    (the GeoPackage's triggers call spatial functions, stubbed here).
    """
    frame = gpd.GeoDataFrame(
        {"n": [1, 2, 3]},
        geometry=[box(113 + i / 10, 23.0, 113.05 + i / 10, 23.05) for i in range(3)],
        crs="EPSG:4490",
    )
    write(frame, path)
    ring = [(113.0, 23.0), (113.1, 23.0), (113.1, 23.1)]
    wkb = struct.pack("<BIII", 1, 3, 1, len(ring)) + b"".join(struct.pack("<dd", *p) for p in ring)
    with sqlite3.connect(path) as db:
        for name in ("ST_IsEmpty", "ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
            db.create_function(name, 1, lambda _blob: 0)
        table, column = db.execute(
            "SELECT table_name, column_name FROM gpkg_geometry_columns"
        ).fetchone()
        (blob,) = db.execute(f'SELECT "{column}" FROM "{table}" WHERE fid = 2').fetchone()
        header = 8 + {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(blob[3] >> 1) & 7]
        db.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE fid = 2', (blob[:header] + wkb,))
    return path
