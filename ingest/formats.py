"""Recognise what arrived and make it readable: unzip, pick the file, set reader options.

Departments send loose shapefiles, zipped ones, GeoPackages, GeoJSON(-seq), KML/KMZ,
FileGDB folders and CSV tables with coordinate columns; rasters are GeoTIFFs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.archives import ArchiveLimits, extract
from ingest.encoding import normalise_codepage
from layers.errors import IngestError

VECTOR_SUFFIXES = {
    ".shp",
    ".gpkg",
    ".geojson",
    ".json",
    ".geojsonl",
    ".geojsons",
    ".kml",
    ".kmz",
    ".csv",
    ".txt",
    ".gdb",
    ".fgb",
}
RASTER_SUFFIXES = {".tif", ".tiff", ".geotiff"}

DEFAULT_LIMITS = ArchiveLimits()

# Column names GDAL's CSV driver should take as coordinates (Chinese and English habits).
CSV_X_NAMES = "lon,lng,long,longitude,x,经度,东经,X坐标,x坐标,POINT_X"
CSV_Y_NAMES = "lat,latitude,y,纬度,北纬,Y坐标,y坐标,POINT_Y"
CSV_GEOM_NAMES = "wkt,WKT,geometry,geom,the_geom,shape,几何"


@dataclass(frozen=True)
class PreparedSource:
    """A path GDAL can open, what kind of data it is, and how to open it."""

    path: Path
    kind: str  # "vector" | "raster"
    original_name: str
    open_options: dict[str, str] = field(default_factory=dict)
    text_encoding: str | None = None  # a CSV's encoding as it arrived

    @property
    def is_shapefile(self) -> bool:
        return self.path.suffix.lower() == ".shp"

    @property
    def is_csv(self) -> bool:
        return self.path.suffix.lower() in (".csv", ".txt")


def prepare_source(
    path: Path,
    workdir: Path,
    source_layer: str | None = None,
    encoding: str | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> PreparedSource:
    """Unpack archives into ``workdir`` (within ``limits``) and say how to read what is inside."""
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if path.is_file() and path.stat().st_size == 0:
        raise IngestError(f"{path.name}: the file is empty")
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _prepare_zip(path, workdir, source_layer, encoding, limits)
    if suffix == ".kmz":
        return _prepare_kmz(path, workdir, limits)
    if suffix in RASTER_SUFFIXES:
        return PreparedSource(path, "raster", path.name)
    if suffix in (".csv", ".txt"):
        return _prepare_csv(path, workdir, path.name, encoding)
    if suffix in VECTOR_SUFFIXES or path.is_dir():
        return PreparedSource(path, "vector", path.name)
    raise IngestError(
        f"{path.name}: unrecognised file type '{suffix}'; OneMap reads Shapefile (.shp or .zip), "
        "GeoPackage, GeoJSON(-seq), KML/KMZ, FileGDB, CSV with coordinates and GeoTIFF"
    )


def _prepare_csv(path: Path, workdir: Path, name: str, forced: str | None) -> PreparedSource:
    """GDAL matches coordinate column names byte for byte, so non-UTF-8 text is transcoded."""
    encoding = detect_text_encoding(path, forced)
    if encoding != "UTF-8":
        workdir.mkdir(parents=True, exist_ok=True)
        utf8 = workdir / path.name
        with path.open(encoding=encoding, newline="") as src, utf8.open("w", newline="") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
        path = utf8
    options = {
        "X_POSSIBLE_NAMES": CSV_X_NAMES,
        "Y_POSSIBLE_NAMES": CSV_Y_NAMES,
        "GEOM_POSSIBLE_NAMES": CSV_GEOM_NAMES,
        "KEEP_GEOM_COLUMNS": "NO",
        "AUTODETECT_TYPE": "YES",
    }
    return PreparedSource(path, "vector", name, options, encoding)


def _prepare_zip(
    path: Path,
    workdir: Path,
    source_layer: str | None,
    encoding: str | None,
    limits: ArchiveLimits,
) -> PreparedSource:
    target = workdir / path.stem
    extract(path, target, limits)
    candidates = sorted(p for p in target.rglob("*") if _is_dataset(p))
    shapefiles = [p for p in candidates if p.suffix.lower() == ".shp"]
    chosen = shapefiles or candidates
    if source_layer and len(chosen) > 1:
        chosen = [p for p in chosen if p.stem == source_layer] or chosen
    if not chosen:
        raise IngestError(
            f"{path.name}: the zip holds no .shp (nor another dataset OneMap reads); "
            "a shapefile needs its .shp, .shx and .dbf together"
        )
    if len(chosen) > 1:
        names = ", ".join(p.name for p in chosen)
        raise IngestError(
            f"{path.name} holds several datasets ({names}); choose with --source-layer"
        )
    dataset = chosen[0]
    if dataset.suffix.lower() == ".shp":
        _require_shapefile_parts(dataset, path.name)
    prepared = prepare_source(dataset, workdir / "nested", encoding=encoding, limits=limits)
    return PreparedSource(
        prepared.path, prepared.kind, path.name, prepared.open_options, prepared.text_encoding
    )


def _is_dataset(path: Path) -> bool:
    suffix = path.suffix.lower()
    if path.is_dir():
        return suffix == ".gdb"
    inside_gdb = any(parent.suffix.lower() == ".gdb" for parent in path.parents)
    return not inside_gdb and (suffix in VECTOR_SUFFIXES or suffix in RASTER_SUFFIXES)


def _require_shapefile_parts(shp: Path, archive: str) -> None:
    present = {p.suffix.lower() for p in shp.parent.glob(shp.stem + ".*")}
    missing = [s for s in (".shx", ".dbf") if s not in present]
    if missing:
        raise IngestError(f"{archive}: {shp.name} comes without {' and '.join(missing)}")


def _prepare_kmz(path: Path, workdir: Path, limits: ArchiveLimits) -> PreparedSource:
    """A KMZ is a zip: unpacked within the same limits, its main KML is read."""
    target = workdir / f"{path.stem}-kmz"
    extract(path, target, limits)
    documents = sorted(target.rglob("*.kml"), key=lambda p: (len(p.parts), p.name != "doc.kml"))
    if not documents:
        raise IngestError(f"{path.name}: the KMZ holds no .kml document")
    return PreparedSource(documents[0], "vector", path.name)


def detect_text_encoding(path: Path, forced: str | None = None) -> str:
    """UTF-8 (with or without BOM) when it decodes, else GB18030, else refuse."""
    with path.open("rb") as handle:
        sample = handle.read(1 << 20)
    candidates = [normalise_codepage(forced) or forced] if forced else ["UTF-8", "GB18030"]
    for encoding in candidates:
        try:
            sample.decode(encoding)
        except UnicodeDecodeError as exc:
            if exc.start < len(sample) - 4:  # a cut multi-byte char at the sample end is fine
                continue
        return encoding
    raise IngestError(
        f"{path.name}: the text is neither UTF-8 nor GBK/GB18030"
        + (f" (and not {forced})" if forced else "")
        + "; pass --encoding with the right code page"
    )
