"""CRS identification of .prj files, inference from coordinates, datum classification."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyproj import CRS

from ingest.crs import (
    Bounds,
    DatumName,
    classify_datum,
    gauss_kruger_epsg,
    identify_epsg,
    resolve_crs,
)
from layers.errors import IngestError

GBK_DIR = Path(__file__).resolve().parents[1] / "data" / "gbk"
COUNTY_BOUNDS: Bounds = (47_626.87, 2_241_035.47, 839_645.31, 2_823_489.05)  # from the README
CITY_BOUNDS: Bounds = (109.655, 20.212, 117.319, 25.517)


def test_real_county_prj_is_4547() -> None:
    declared = CRS((GBK_DIR / "gd_county_cgcs2000_gk114e_gbk.prj").read_text())
    result = resolve_crs(declared, COUNTY_BOUNDS)
    assert (result.epsg, result.how, result.warnings) == (4547, "declared", [])
    assert result.crs == CRS.from_epsg(4547)


def test_real_city_prj_is_4490() -> None:
    declared = CRS((GBK_DIR / "gd_city_cgcs2000_gbk.prj").read_text())
    result = resolve_crs(declared, CITY_BOUNDS)
    assert (result.epsg, result.how, result.warnings) == (4490, "declared", [])


@pytest.mark.parametrize("code", [4490, 4547, 4526, 4509, 4610, 2383, 2362, 4214, 2435, 21459])
def test_esri_wkt_of_chinese_crs_is_identified(code: int) -> None:
    esri_wkt = CRS.from_epsg(code).to_wkt("WKT1_ESRI")
    assert identify_epsg(CRS(esri_wkt)) == code


def hand_made_prj(spheroid: str, false_easting: float, central_meridian: float) -> CRS:
    """A .prj as some tools write it: unnamed datum, only the ellipsoid to go by."""
    return CRS(
        'PROJCS["custom",GEOGCS["GCS_unknown",DATUM["D_unknown",SPHEROID[' + spheroid + "]],"
        'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
        'PROJECTION["Transverse_Mercator"],'
        f'PARAMETER["False_Easting",{false_easting}],PARAMETER["False_Northing",0.0],'
        f'PARAMETER["Central_Meridian",{central_meridian}],PARAMETER["Scale_Factor",1.0],'
        'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
    )


@pytest.mark.parametrize(
    ("spheroid", "false_easting", "central_meridian", "expected"),
    [
        ('"Krasovsky_1940",6378245.0,298.3', 38_500_000, 114, 2414),  # Beijing 54 3° zone 38
        ('"IAG_1975",6378140.0,298.257', 500_000, 114, 2383),  # Xi'an 80 3° CM 114E
        ('"CGCS2000",6378137.0,298.257222101', 20_500_000, 117, 4498),  # CGCS2000 6° zone 20
    ],
)
def test_hand_made_prj_is_identified(
    spheroid: str, false_easting: float, central_meridian: float, expected: int
) -> None:
    declared = hand_made_prj(spheroid, false_easting, central_meridian)
    assert identify_epsg(declared) == expected


def test_low_confidence_prj_is_matched_by_parameters() -> None:
    declared = hand_made_prj('"Krasovsky_1940",6378245.0,298.3', 38_500_000, 114)
    assert declared.to_epsg(min_confidence=70) is None  # PROJ alone cannot name it
    result = resolve_crs(declared, (38_400_000.0, 2_500_000.0, 38_450_000.0, 2_550_000.0))
    assert result.epsg == 2414  # Beijing 1954 / 3-degree Gauss-Kruger zone 38
    assert any("by datum and projection parameters" in w for w in result.warnings)


def test_gauss_kruger_code_table_agrees_with_proj() -> None:
    for datum in ("cgcs2000", "xian1980", "beijing1954"):
        for width in (3, 6):
            for prefixed in (True, False):
                for cm in range(75, 136, width):
                    code = gauss_kruger_epsg(datum, width, cm, prefixed)
                    crs = CRS.from_epsg(code)
                    assert crs.coordinate_operation is not None
                    params = {p.name: float(p.value) for p in crs.coordinate_operation.params}
                    zone = cm // 3 if width == 3 else (cm + 3) // 6
                    easting = zone * 1_000_000 + 500_000 if prefixed else 500_000
                    assert classify_datum(crs) == datum, code
                    assert params["Longitude of natural origin"] == cm, code
                    assert params["False easting"] == easting, code


def test_declared_geographic_with_metre_coordinates_is_refused() -> None:
    with pytest.raises(IngestError, match=r"roads\.shp.*not degrees.*--source-crs"):
        resolve_crs(CRS.from_epsg(4490), COUNTY_BOUNDS, source_name="roads.shp")


def test_declared_crs_that_puts_data_outside_china_warns() -> None:
    result = resolve_crs(CRS.from_epsg(4547), (113.2, 23.0, 113.5, 23.3))
    assert result.epsg == 4547
    assert any("outside China" in w for w in result.warnings)


def test_lonlat_in_guangdong_is_inferred_as_cgcs2000() -> None:
    result = resolve_crs(None, CITY_BOUNDS)
    assert (result.epsg, result.how) == (4490, "inferred")
    assert "assumed CGCS2000 geographic" in result.warnings[0]


def test_zone_prefixed_3_degree_gauss_kruger_is_inferred() -> None:
    result = resolve_crs(None, (38_400_000.0, 2_540_000.0, 38_450_000.0, 2_560_000.0))
    assert (result.epsg, result.how) == (4526, "inferred")  # CGCS2000 3° zone 38
    assert "EPSG:2362" in result.warnings[0] and "EPSG:2414" in result.warnings[0]


@pytest.mark.parametrize(("easting", "expected"), [(19_600_000.0, 4497), (20_300_000.0, 4498)])
def test_zone_prefixed_6_degree_gauss_kruger_is_inferred(easting: float, expected: int) -> None:
    result = resolve_crs(None, (easting, 2_500_000.0, easting + 100_000, 2_600_000.0))
    assert (result.epsg, result.how) == (expected, "inferred")


def test_web_mercator_in_guangdong_is_inferred() -> None:
    result = resolve_crs(None, (12_600_000.0, 2_640_000.0, 12_650_000.0, 2_660_000.0))
    assert (result.epsg, result.how) == (3857, "inferred")


def test_unprefixed_gauss_kruger_is_refused_with_candidates() -> None:
    with pytest.raises(IngestError) as caught:
        resolve_crs(None, (350_000.0, 2_500_000.0, 450_000.0, 2_600_000.0), source_name="a.shp")
    message = caught.value.message
    assert message.startswith("a.shp:") and "--source-crs EPSG:" in message
    for code in (4546, 4547, 4548, 4508, 4509, 2383, 2435):
        assert f"EPSG:{code}" in message


def test_unprefixed_province_wide_data_narrows_to_the_meridian_that_fits() -> None:
    with pytest.raises(IngestError) as caught:
        resolve_crs(None, COUNTY_BOUNDS)
    assert "EPSG:4547" in caught.value.message
    assert "EPSG:4546" not in caught.value.message  # CM 111E would put it in Guangxi


@pytest.mark.parametrize(
    "bounds",
    [
        (-5e9, 1.0, 5e9, 2.0),
        (0.0, 0.0, 100.0, 50.0),
        (116.3, 39.9, 116.5, 40.0),
        (1e6, 1e6, 1.2e6, 1.2e6),
    ],
)
def test_implausible_coordinates_are_refused(bounds: Bounds) -> None:
    with pytest.raises(IngestError, match="--source-crs"):
        resolve_crs(None, bounds)


def test_swapped_latitude_longitude_is_named() -> None:
    with pytest.raises(IngestError, match="swapped"):
        resolve_crs(None, (23.0, 113.2, 23.3, 113.5))


def test_empty_bounds_are_refused() -> None:
    nan = float("nan")
    with pytest.raises(IngestError, match="empty"):
        resolve_crs(None, (nan, nan, nan, nan))


@pytest.mark.parametrize(
    ("code", "datum"),
    [
        (4490, "cgcs2000"),
        (4547, "cgcs2000"),
        (4326, "wgs84"),
        (3857, "wgs84"),
        (32649, "wgs84"),
        (4610, "xian1980"),
        (2383, "xian1980"),
        (4214, "beijing1954"),
        (2435, "beijing1954"),
        (4269, "other"),
    ],
)
def test_classify_datum(code: int, datum: DatumName) -> None:
    assert classify_datum(CRS.from_epsg(code)) == datum
