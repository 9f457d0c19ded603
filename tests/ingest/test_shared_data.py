"""Every real sample file publishes, and its Chinese attributes read back over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.ingest import builders
from tests.ingest.conftest import Publish
from tests.ingest.test_ingest_service import _wait_for

TEST_DATA, SAMPLE = builders.TEST_DATA, builders.SHARED  # both inside the checkout
CASES = [
    (TEST_DATA / "gbk/gd_county_cgcs2000_gk114e_gbk.shp", None, "440106", "天河区", 124),
    (TEST_DATA / "gbk/gd_city_cgcs2000_gbk.shp", None, "440100", "广州市", 21),
    (SAMPLE / "guangdong_admin_cnmaps.gpkg", "gd_county", "440106", "天河区", 124),
    (SAMPLE / "guangdong_admin_cnmaps.gpkg", "gd_city", "440300", "深圳市", 21),
    (SAMPLE / "guangdong_admin_cnmaps.gpkg", "gd_province", "440000", "广东省", 1),
    (TEST_DATA / "guangdong_province_dcw.gpkg", None, "CN.GD", "广东省", 3),
]


@pytest.mark.parametrize(
    ("name", "source_layer", "code", "chinese", "count"),
    CASES,
    ids=[f"{case[0].name}-{case[1] or 'only'}" for case in CASES],
)
def test_shared_file_reads_back_in_chinese(
    client: TestClient,
    publish: Publish,
    sample_url: str,
    name: Path,
    source_layer: str | None,
    code: str,
    chinese: str,
    count: int,
) -> None:
    layer_id = "shared-" + name.stem.replace("_", "-")[:30] + f"-{source_layer or 'x'}"
    publish(name, layer_id.lower().replace("_", "-"), source_layer=source_layer)
    url = f"/collections/{layer_id.lower().replace('_', '-')}/items?limit=200"
    body = _wait_for(client, url, lambda b: b.get("numberMatched") == count)
    by_code = {
        str(f["properties"].get("adcode") or f["properties"].get("dcw_code")): f["properties"]
        for f in body["features"]
    }
    assert by_code[code]["name"] == chinese


def test_shared_dem_becomes_a_raster_layer(publish: Publish, client: TestClient) -> None:
    result = publish(SAMPLE / "gd_dem_0p2deg_cnmaps.tif", "shared-dem")
    assert result.kind == "raster"
    _wait_for(
        client, "/collections", lambda b: any(c["id"] == "shared-dem" for c in b["collections"])
    )
