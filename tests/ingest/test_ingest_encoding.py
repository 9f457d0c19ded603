"""Shapefile DBF encoding: .cpg, LDID, byte detection and forced encodings."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from ingest.encoding import decode_check, detect_shapefile_encoding, normalise_codepage
from layers.errors import IngestError

GBK_DIR = Path(__file__).resolve().parents[1] / "data" / "gbk"
COUNTY = GBK_DIR / "gd_county_cgcs2000_gk114e_gbk.shp"
CITY = GBK_DIR / "gd_city_cgcs2000_gbk.shp"


def copy_shapefile(shp: Path, dest: Path, *, with_cpg: bool) -> Path:
    for part in shp.parent.glob(shp.stem + ".*"):
        if with_cpg or part.suffix.lower() != ".cpg":
            shutil.copy(part, dest / part.name)
    return dest / shp.name


def set_ldid(shp: Path, ldid: int) -> None:
    with shp.with_suffix(".dbf").open("r+b") as dbf:
        dbf.seek(29)
        dbf.write(bytes([ldid]))


def write_dbf(path: Path, field_name: bytes, width: int, values: list[bytes]) -> Path:
    """A minimal dBase III file with one character field (enough for the detector)."""
    header_len, record_len = 32 + 32 + 1, 1 + width
    head = struct.pack("<B3BIHH20x", 3, 126, 1, 1, len(values), header_len, record_len)
    descriptor = struct.pack("<11sc4xBB14x", field_name, b"C", width, 0)
    records = b"".join(b" " + v.ljust(width, b" ") for v in values)
    path.write_bytes(head + descriptor + b"\r" + records + b"\x1a")
    return path.with_suffix(".shp")


def test_gbk_shapefiles_with_cpg_are_read_as_gb18030() -> None:
    for shp in (COUNTY, CITY):
        result = detect_shapefile_encoding(shp)
        assert (result.encoding, result.source, result.confidence) == ("GB18030", "cpg", 1.0)
    frame = pyogrio.read_dataframe(COUNTY, encoding="GB18030", read_geometry=False)
    assert "越秀区" in set(frame["NAME"])


def test_gbk_without_cpg_is_detected_from_the_bytes(tmp_path: Path) -> None:
    shp = copy_shapefile(COUNTY, tmp_path, with_cpg=False)
    result = detect_shapefile_encoding(shp)
    assert (result.encoding, result.source) == ("GB18030", "detected")
    assert result.confidence > 0.99
    frame = pyogrio.read_dataframe(shp, encoding=result.encoding, read_geometry=False)
    assert "越秀区" in set(frame["NAME"])
    assert "广州市" in set(frame["CITY"])


def test_ldid_936_is_honoured_without_cpg(tmp_path: Path) -> None:
    shp = copy_shapefile(CITY, tmp_path, with_cpg=False)
    set_ldid(shp, 0x4D)
    result = detect_shapefile_encoding(shp)
    assert (result.encoding, result.source) == ("GB18030", "ldid")


def test_western_ldid_loses_to_chinese_bytes(tmp_path: Path) -> None:
    shp = copy_shapefile(CITY, tmp_path, with_cpg=False)
    set_ldid(shp, 0x03)  # CP1252, a common writer default
    result = detect_shapefile_encoding(shp)
    assert (result.encoding, result.source) == ("GB18030", "detected")
    assert any("LDID 0x03" in note for note in result.notes)


def write_utf8_shapefile(tmp_path: Path) -> Path:
    frame = gpd.GeoDataFrame(
        {"名称": ["越秀区", "天河区"], "code": ["440104", "440106"]},
        geometry=[shapely.Point(113.27, 23.13), shapely.Point(113.36, 23.12)],
        crs="EPSG:4490",
    )
    shp = tmp_path / "utf8.shp"
    pyogrio.write_dataframe(frame, shp, encoding="UTF-8")
    return shp


def test_utf8_shapefile_with_and_without_cpg(tmp_path: Path) -> None:
    shp = write_utf8_shapefile(tmp_path)
    assert detect_shapefile_encoding(shp).source == "cpg"
    shp.with_suffix(".cpg").unlink()
    result = detect_shapefile_encoding(shp)
    assert (result.encoding, result.source) == ("UTF-8", "detected")
    frame = pyogrio.read_dataframe(shp, encoding=result.encoding, read_geometry=False)
    assert list(frame["名称"]) == ["越秀区", "天河区"]


def test_forced_wrong_encoding_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"gd_county.*not UTF-8.*--encoding"):
        detect_shapefile_encoding(COUNTY, forced="UTF-8")
    with pytest.raises(IngestError, match="not UTF-8"):
        decode_check(COUNTY, "utf8")
    utf8 = write_utf8_shapefile(tmp_path)
    with pytest.raises(IngestError, match=r"utf8\.dbf.*not GB18030"):
        detect_shapefile_encoding(utf8, forced="GBK")


def test_forced_right_encoding_is_used() -> None:
    result = detect_shapefile_encoding(COUNTY, forced="GBK")
    assert (result.encoding, result.source) == ("GB18030", "forced")
    decode_check(CITY, "CP936")


def test_a_wrong_cpg_falls_back_to_detection(tmp_path: Path) -> None:
    shp = copy_shapefile(CITY, tmp_path, with_cpg=False)
    shp.with_suffix(".cpg").write_text("UTF-8")
    result = detect_shapefile_encoding(shp)
    assert (result.encoding, result.source) == ("GB18030", "detected")
    assert any(".cpg" in note for note in result.notes)


def test_latin1_bytes_without_cpg_ask_for_an_encoding(tmp_path: Path) -> None:
    # "Zürich"/"naïve" in CP1252 decode "strictly" as GB18030, but into rare characters.
    values = ["Zürich".encode("cp1252"), "naïve".encode("cp1252")]
    shp = write_dbf(tmp_path / "latin.dbf", b"NAME", 20, values)
    with pytest.raises(IngestError, match=r"latin\.dbf.*--encoding"):
        detect_shapefile_encoding(shp)


def test_character_cut_at_the_field_width_is_tolerated(tmp_path: Path) -> None:
    cut = "广州市天河".encode()[:10]  # 3 whole characters and a third of the 4th
    shp = write_dbf(tmp_path / "cut.dbf", "名称".encode(), 10, [cut, "越秀".encode()])
    assert detect_shapefile_encoding(shp).encoding == "UTF-8"
    short = write_dbf(tmp_path / "short.dbf", b"NAME", 12, [cut])  # not full width: broken
    with pytest.raises(IngestError):
        decode_check(short, "UTF-8")


def test_ascii_only_dbf_reads_as_utf8(tmp_path: Path) -> None:
    shp = write_dbf(tmp_path / "plain.dbf", b"CODE", 6, [b"440104"])
    result = detect_shapefile_encoding(shp)
    assert (result.encoding, result.source, result.confidence) == ("UTF-8", "detected", 1.0)


def test_missing_dbf_is_an_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"lonely\.shp.*\.dbf"):
        detect_shapefile_encoding(tmp_path / "lonely.shp")


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("GBK", "GB18030"),
        ("936", "GB18030"),
        ("CP936", "GB18030"),
        ("GB2312", "GB18030"),
        ("gb18030", "GB18030"),
        ("ANSI 936", "GB18030"),
        ("UTF-8", "UTF-8"),
        ("65001", "UTF-8"),
        ("UTF8", "UTF-8"),
        ("utf_8", "UTF-8"),
        ("Big5", "CP950"),
        ("1252", "CP1252"),
        ("klingon", None),
    ],
)
def test_codepage_spellings(spelling: str, expected: str | None) -> None:
    assert normalise_codepage(spelling) == expected
