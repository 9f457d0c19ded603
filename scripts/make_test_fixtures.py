"""Write the small test fixtures of ``tests/data/`` from the platform's full ``shared/data``.

The tests need real GBK Shapefiles (real DBF bytes, real ESRI ``.prj``) and the DCW province
outlines, but not their full vertex density: the geometry is simplified (shapes kept valid,
every feature kept) and the attribute, projection and code-page files are copied byte for
byte. The tests never read ``shared/data`` themselves; only this script does, once.

    .venv/bin/python scripts/make_test_fixtures.py /path/to/shared/data  # → tests/data/
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pyogrio
import shapely

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data"
# Simplification tolerance in the layer's own units (about 100 m either way).
SHAPEFILES = {
    "gbk/gd_county_cgcs2000_gk114e_gbk": 100.0,  # EPSG:4547, metres
    "gbk/gd_city_cgcs2000_gbk": 0.001,  # EPSG:4490, degrees
}
DCW = ("guangdong_province_dcw.gpkg", 0.001)  # EPSG:4326, degrees
COPIED_AS_IS = (".dbf", ".prj", ".cpg")
os.environ.setdefault("OGR_CURRENT_DATE", "2026-01-01T00:00:00.000Z")  # stable GeoPackage bytes


def simplified(geometries: object, tolerance: float) -> object:
    out = shapely.simplify(geometries, tolerance, preserve_topology=True)
    return shapely.make_valid(out)


def shapefile(source: Path, stem: str, tolerance: float) -> None:
    target = OUT / stem
    target.parent.mkdir(parents=True, exist_ok=True)
    frame = pyogrio.read_dataframe(source / f"{stem}.shp")
    frame.geometry = simplified(frame.geometry.to_numpy(), tolerance)
    pyogrio.write_dataframe(frame, target.with_suffix(".shp"), encoding="GBK")
    for suffix in COPIED_AS_IS:  # the same records in the same order: the DBF still matches
        shutil.copyfile(source / f"{stem}{suffix}", target.with_suffix(suffix))


def geopackage(source: Path, name: str, tolerance: float) -> None:
    frame = pyogrio.read_dataframe(source / name)
    frame.geometry = simplified(frame.geometry.to_numpy(), tolerance)
    target = OUT / name
    target.unlink(missing_ok=True)
    layer = pyogrio.list_layers(source / name)[0][0]
    pyogrio.write_dataframe(frame, target, layer=layer, driver="GPKG")


def main(source: Path) -> None:
    for stem, tolerance in SHAPEFILES.items():
        shapefile(source, stem, tolerance)
    geopackage(source, *DCW)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
