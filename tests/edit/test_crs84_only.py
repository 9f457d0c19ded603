"""A deployment without CRS support (``ONEMAP_CRS_BY_REFERENCE=false``, ADR 0022).

OGC API - Features Part 4 /req/features/crs84 (the ATS's /conf/features/crs84): without
Part 2 declared, geometries of request bodies are CRS84 longitude/latitude and a body in
any other CRS is refused. The same rule shapes the conformance declaration, the
collections' ``crs``/``storageCrs`` and every CRS parameter of reads.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient

from layers.crs import PART2_CONFORMANCE, ServedCrs
from layers.errors import InvalidParameter
from layers.platform import CRS84_URI
from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.access.ownership_fixtures import callers_by_token
from tests.edit.conftest import feature, open_own_layer, write_headers
from tests.edit.test_gml_jsonfg_bodies import gml_body

LAYER = "edit-crs84-only"
TABLE = "edit_crs84_only_v1"
SETTING = "ONEMAP_CRS_BY_REFERENCE=false"
UTM32 = "http://www.opengis.net/def/crs/EPSG/0/25832"
PART4_FEATURES = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features"
RING = [[113.81, 23.41], [113.8104, 23.41], [113.8104, 23.4103], [113.81, 23.4103], [113.81, 23.41]]


@pytest.fixture(scope="module")
def crs84_only(
    settings: ServiceSettings, sample_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    tiles = tmp_path_factory.mktemp("crs84-tiles")
    only = settings.model_copy(update={"crs_by_reference": False, "tile_cache_dir": tiles})
    app = create_app(only)
    callers_by_token(app.state.onemap.callers)
    with TestClient(app) as client:
        open_own_layer(client, sample_url, LAYER, TABLE, (113.80, 23.40))
        yield client


def assert_names_the_setting(answer: object, field: str) -> None:
    status, detail = answer.status_code, answer.json()["detail"]  # type: ignore[attr-defined]
    assert status == 400, detail
    assert field in detail and SETTING in detail and CRS84_URI in detail


def count(sample_url: str) -> int:
    with psycopg.connect(sample_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM onemap_data.{TABLE}".encode()).fetchone()
    assert row is not None
    return int(row[0])


def test_no_part2_is_declared_and_collections_list_crs84_only(
    crs84_only: TestClient, client: TestClient
) -> None:
    declared = crs84_only.get("/conformance").json()["conformsTo"]
    assert PART2_CONFORMANCE not in declared and PART4_FEATURES in declared
    assert PART2_CONFORMANCE in client.get("/conformance").json()["conformsTo"]  # the default
    one = crs84_only.get(f"/collections/{LAYER}").json()
    listed = {c["id"]: c for c in crs84_only.get("/collections").json()["collections"]}
    for doc in (one, listed[LAYER], listed["gd-counties"]):
        assert doc["crs"] == [CRS84_URI] and "storageCrs" not in doc
    assert crs84_only.get(f"/collections/{LAYER}?f=html").status_code == 200


def test_a_body_without_content_crs_is_crs84_and_stored_as_sent(
    crs84_only: TestClient, sample_url: str
) -> None:
    """/req/features/crs84 A: the coordinates are read as CRS84 (reference: the submitted
    ring itself, and PostGIS's own reading of the stored row, to 1e-9 degrees)."""
    created = crs84_only.post(
        f"/collections/{LAYER}/items", json=feature("crs84", RING), headers=write_headers()
    )
    assert created.status_code == 201, created.text
    read = crs84_only.get(created.headers["Location"])
    assert read.headers["Content-Crs"] == f"<{CRS84_URI}>"
    served = shapely.geometry.shape(read.json()["geometry"])
    sent = shapely.Polygon(RING)
    assert served.equals_exact(shapely.MultiPolygon([sent]), tolerance=1e-7)
    fid = created.headers["Location"].rsplit("/", 1)[1]
    with psycopg.connect(sample_url) as conn:
        row = conn.execute(
            f"SELECT ST_AsBinary(geom), ST_SRID(geom) FROM onemap_data.{TABLE} "
            "WHERE fid = %s".encode(),
            [int(fid)],
        ).fetchone()
    assert row is not None and row[1] == 4490  # CGCS2000 = WGS 84 at this precision (ADR 0002)
    assert shapely.from_wkb(bytes(row[0])).equals_exact(shapely.MultiPolygon([sent]), 1e-9)


@pytest.mark.parametrize(
    ("field", "body", "headers"),
    [
        ("Content-Crs", feature("utm", RING), {"Content-Crs": f"<{UTM32}>"}),
        ("Content-Crs", feature("lat/lon", RING), {"Content-Crs": "EPSG:4326"}),
        (
            "coordRefSys",
            feature("fg")
            | {"place": {"type": "Point", "coordRefSys": UTM32, "coordinates": [1, 2]}},
            {},
        ),
    ],
    ids=["content-crs utm", "content-crs epsg 4326", "json-fg coordRefSys"],
)
def test_a_body_in_another_crs_is_refused_and_nothing_created(
    crs84_only: TestClient, sample_url: str, field: str, body: object, headers: dict[str, str]
) -> None:
    """/req/features/crs84 B: any other CRS of a body is a 400 naming the setting."""
    before = count(sample_url)
    answer = crs84_only.post(
        f"/collections/{LAYER}/items", json=body, headers=write_headers(**headers)
    )
    assert_names_the_setting(answer, field)
    assert count(sample_url) == before


def test_a_gml_body_in_another_srs_is_refused(crs84_only: TestClient) -> None:
    headers = write_headers() | {"Content-Type": "application/gml+xml"}
    gml = gml_body("gml utm", RING, UTM32)
    answer = crs84_only.post(f"/collections/{LAYER}/items", content=gml, headers=headers)
    assert_names_the_setting(answer, "srsName")


@pytest.mark.parametrize(
    "query",
    [
        "crs=http://www.opengis.net/def/crs/EPSG/0/4490",
        "bbox=23,113,24,114&bbox-crs=EPSG:4326",
        "filter=S_INTERSECTS(geometry,POINT(113.8 23.4))&filter-crs=EPSG:4490",
    ],
    ids=["crs", "bbox-crs", "filter-crs"],
)
def test_reads_in_another_crs_are_refused(crs84_only: TestClient, query: str) -> None:
    field = query.rsplit("&", 1)[-1].split("=")[0]
    assert_names_the_setting(crs84_only.get(f"/collections/{LAYER}/items?{query}"), field)


def test_crs84_by_name_is_served(crs84_only: TestClient) -> None:
    answer = crs84_only.get(f"/collections/{LAYER}/items?crs=OGC:CRS84&bbox-crs={CRS84_URI}")
    assert answer.status_code == 200 and answer.headers["Content-Crs"] == f"<{CRS84_URI}>"
    one = crs84_only.get(f"/collections/{LAYER}/items/1?crs=EPSG:4490")
    assert_names_the_setting(one, "crs")


def test_the_rule_alone() -> None:
    only, every = ServedCrs(by_reference=False), ServedCrs()
    assert only.parse("[OGC:CRS84]", "crs").uri == CRS84_URI
    assert len(every.of()) > 1 and every.parse("EPSG:4490", "crs").srid == 4490
    with pytest.raises(InvalidParameter, match=SETTING):
        only.parse("EPSG:4490", "crs")
