"""Rasters are inputs by layer id through the gate, raster results become layers, and a
job's parameters and request can be read back by whoever may see the job (issue 17)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from pyproj import Transformer

from ingest.options import IngestOptions
from ingest.pipeline import ingest_file
from tests.access.ownership_fixtures import (
    B_RESTRICTED,
    DEPT_A,
    DEPT_B,
    as_,
    owned,
    wait_for_layer,
)
from tests.helpers.catalog import SAMPLE_DEM, fixture_meta
from tests.tiles.helpers import png_pixels, tile_at

__all__ = ["owned"]  # the fixture
ZONAL = "/processes/zonal-statistics/execution"
TERRAIN = "/processes/terrain/execution"
RESTRICTED_DEM = "gov-dem-b"
GUANGZHOU = {"collection": "gd-counties", "adcode": "440100"}


@pytest.fixture(scope="module")
def restricted_dem(owned: TestClient, sample_url: str, tmp_path_factory: Any) -> str:
    """The DEM again, as department B's restricted raster layer."""
    meta = fixture_meta(
        RESTRICTED_DEM, "高程", "DEM", kind="raster", access_level="restricted",
        department_id=DEPT_B,
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("gov-rasters")
    ingest_file(sample_url, SAMPLE_DEM, meta, IngestOptions(who="tests", raster_dir=folder))
    wait_for_layer(owned, RESTRICTED_DEM)
    return RESTRICTED_DEM


def _means(answer: Any) -> list[float]:
    assert answer.status_code == 200, answer.text
    return [f["properties"]["mean"] for f in answer.json()["features"]]


def test_the_sample_dem_is_a_raster_layer_named_by_id(owned: TestClient) -> None:
    layer = owned.get("/collections/gd-dem").json()
    assert "raster" in layer["onemap:layer"]["metadata"]  # a raster version (ingest/raster.py)
    body = {"inputs": {"raster": {"collection": "gd-dem"}, "zones": GUANGZHOU}}
    by_id = _means(owned.post(ZONAL, json=body))  # anonymous: a public layer
    body["inputs"]["raster"] = {"path": str(SAMPLE_DEM)}
    by_path = _means(owned.post(ZONAL, json=body, headers=as_("root")))  # an admin's file
    assert len(by_id) == 11 and by_id == pytest.approx(by_path, rel=1e-6)


@pytest.mark.parametrize("who", [None, "alice"])
@pytest.mark.parametrize("prefer", [{}, {"Prefer": "respond-async"}])
def test_server_paths_are_refused_to_non_admins_without_echoing(
    owned: TestClient, who: str | None, prefer: dict[str, str]
) -> None:
    for path in (str(SAMPLE_DEM), "/etc/hostname", "/no/such/dem.tif"):
        headers = (as_(who) if who else {}) | prefer
        answer = owned.post(TERRAIN, json={"inputs": {"dem": {"path": path}}}, headers=headers)
        assert answer.status_code == 400, answer.text  # before a job exists, async too
        detail = answer.json()["detail"]
        assert detail.startswith("dem: ") and '{"collection": "gd-dem"}' in detail
        assert path not in answer.text and Path(path).name not in answer.text


def test_an_admins_missing_path_is_not_echoed(owned: TestClient) -> None:
    answer = owned.post(
        TERRAIN,
        json={"inputs": {"dem": {"path": str(SAMPLE_DEM.parent / "secret-missing.tif")}}},
        headers=as_("root"),
    )
    assert answer.status_code == 400 and "secret-missing" not in answer.text


def test_an_invisible_raster_is_refused_as_an_invisible_vector_is(
    owned: TestClient, restricted_dem: str
) -> None:
    raster = {"inputs": {"raster": {"collection": restricted_dem}, "zones": GUANGZHOU}}
    vector = {"inputs": {"raster": {"collection": "gd-dem"}, "zones": {"collection": B_RESTRICTED}}}
    for who in (None, "alice"):
        headers = as_(who) if who else {}
        hidden_raster = owned.post(ZONAL, json=raster, headers=headers)
        hidden_vector = owned.post(ZONAL, json=vector, headers=headers)
        assert hidden_raster.status_code == hidden_vector.status_code == 400
        assert hidden_raster.json()["detail"] == (
            f"raster: input layer '{restricted_dem}' does not exist; see /collections for the ids"
        )
        assert "does not exist" in hidden_vector.json()["detail"]
    seen = _means(owned.post(ZONAL, json=raster, headers=as_("bea")))  # B's member sees it
    public = _means(
        owned.post(ZONAL, json={"inputs": {"raster": {"collection": "gd-dem"}, "zones": GUANGZHOU}})
    )
    assert seen == pytest.approx(public, rel=1e-6)  # the same file under two layers


def _pixel_lonlat(z: int, row: int, col: int) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of the 256 × 256 pixel centres of a WebMercatorQuad tile."""
    from tiles import grids

    left, _, right, top = grids.get_tms("WebMercatorQuad").xy_bounds(col, row, z)
    size = (right - left) / 256
    x = left + (np.arange(256) + 0.5) * size
    y = top - (np.arange(256) + 0.5) * size
    xx, yy = np.meshgrid(x, y)
    to_lonlat = Transformer.from_crs(3857, 4326, always_xy=True)
    return to_lonlat.transform(xx, yy)  # type: ignore[no-any-return]


def test_a_slope_result_is_published_as_a_raster_layer_and_tiled(owned: TestClient) -> None:
    body = {
        "inputs": {"dem": {"collection": "gd-dem"}, "cell_m": 5000},
        "outputs": {"slope": {}},
        "publish": {"collection": "gov-slope-a", "output": "slope", "title": "坡度"},
    }
    answer = owned.post(TERRAIN, json=body, headers=as_("alice"))
    assert answer.status_code == 200, answer.text
    layer = wait_for_layer(owned, "gov-slope-a")
    assert "raster" in layer["metadata"] and layer["department"]["id"] == DEPT_A
    derived = layer["metadata"]["derived_from"]
    assert derived["process"] == "terrain" and derived["owner"] == "alice"
    assert {"layer": "gd-dem", "version": 1} in derived["inputs"]
    assert (
        derived["parameters"]["cell_m"] == 5000
        and derived["parameters"]["dem"]["collection"] == "gd-dem"
    )

    with rasterio.open(io.BytesIO(answer.content)) as result:  # the job's GeoTIFF
        z, (row, col) = 6, tile_at("WebMercatorQuad", 6, 113.3, 23.1)
        lon, lat = _pixel_lonlat(z, row, col)
        x, y = Transformer.from_crs(4326, result.crs, always_xy=True).transform(lon, lat)
        values = np.array([v[0] for v in result.sample(zip(x.ravel(), y.ravel(), strict=True))])
        has_data = np.isfinite(values).reshape(256, 256) & (values != result.nodata).reshape(
            256, 256
        )
    tile = owned.get(
        f"/collections/gov-slope-a/map/tiles/WebMercatorQuad/{z}/{row}/{col}", headers=as_("alice")
    )
    assert tile.status_code == 200 and tile.headers["content-type"] == "image/png"
    image = png_pixels(tile.content)
    assert image.size == (256, 256)
    opaque = np.asarray(image.convert("RGBA"))[..., 3] > 0
    assert 5_000 < opaque.sum() < 256 * 256 - 1_000  # Guangdong, and the sea around it
    # The tile shows the result where it has data: the same pixels, but for resampled edges.
    assert (opaque == has_data).mean() > 0.97


def test_a_raster_publish_of_a_non_raster_output_is_refused(owned: TestClient) -> None:
    body = {
        "inputs": {"raster": {"collection": "gd-dem"}, "zones": GUANGZHOU},
        "publish": {"collection": "gov-zonal-value", "output": "nope"},
    }
    answer = owned.post(ZONAL, json=body, headers=as_("alice"))
    assert answer.status_code == 400 and "features or raster output" in answer.json()["detail"]


def test_lineage_records_parameters_and_the_request_reads_back(owned: TestClient) -> None:
    sites = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"n": 1},
                "geometry": {"type": "Point", "coordinates": [113.3, 23.1]},
            }
        ],
    }
    submitted = {"inputs": {"sites": {"features": sites}, "distance_m": 250}}
    answer = owned.post("/processes/buffer-zones/execution", json=submitted, headers=as_("alice"))
    assert answer.status_code == 200, answer.text
    job_id = answer.headers["x-onemap-job"]
    info = owned.get(f"/jobs/{job_id}", headers=as_("alice")).json()
    digest = hashlib.sha256(
        json.dumps(sites, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert info["onemap:parameters"] == {  # by hand: the defaults, the features by digest
        "sites": {
            "collection": None,
            "adcode": None,
            "filter": None,
            "features": {"type": "FeatureCollection", "count": 1, "sha256": digest},
        },
        "distance_m": 250.0,
        "check": None,
    }
    [request_link] = [link for link in info["links"] if link["rel"] == "onemap:request"]
    assert request_link["href"].endswith(f"/jobs/{job_id}/request")
    request = owned.get(f"/jobs/{job_id}/request", headers=as_("alice"))
    assert request.status_code == 200
    assert request.json()["inputs"] == submitted["inputs"]  # as submitted, features whole
    for stranger in (None, "bob", "bea"):  # the gate's job rule: the owner and admins only
        headers = as_(stranger) if stranger else {}
        assert owned.get(f"/jobs/{job_id}/request", headers=headers).status_code == 404
    assert owned.get(f"/jobs/{job_id}/request", headers=as_("root")).status_code == 200
