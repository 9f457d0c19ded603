"""Publishing a result never replaces a department's layer; rollback restores metadata too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient

from ingest.pipeline import IngestOptions, ingest_file
from layers.catalog_write import LayerMeta
from layers.errors import Conflict
from layers.versions import rollback
from ogc.processes.publish import check_target
from tests.conftest import PUBLISHER

BUFFER_RUN: dict[str, Any] = {
    "inputs": {
        "sites": {"collection": "synthetic-water-sources"},
        "distance_m": 3000,
        "check": {"collection": "synthetic-factories"},
    },
    "outputs": {"violations": {}},
}


def _catalog_row(url: str, layer_id: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT title_zh, title_en, license, attribution, metadata, current_version "
            "FROM onemap.layers WHERE id = %s",
            (layer_id,),
        ).fetchone()
    assert row is not None
    return tuple(row)


def _publish(client: TestClient, collection: str) -> Any:
    body = BUFFER_RUN | {"publish": {"collection": collection, "output": "violations"}}
    return client.post("/processes/buffer-zones/execution", json=body, headers=PUBLISHER)


def test_a_result_cannot_replace_a_department_layer(client: TestClient, sample_url: str) -> None:
    before = _catalog_row(sample_url, "gd-counties")
    response = _publish(client, "gd-counties")
    assert response.status_code == 409, response.text
    assert "gd-counties" in response.json()["detail"]
    assert _catalog_row(sample_url, "gd-counties") == before
    counties = client.get("/collections/gd-counties/items?limit=1").json()
    assert counties["numberMatched"] == 124


def test_a_result_layer_gets_new_versions_of_its_own(client: TestClient, sample_url: str) -> None:
    assert _publish(client, "result-guard-own").status_code == 200
    first = _catalog_row(sample_url, "result-guard-own")
    assert first[4]["origin"] == "analysis"
    assert first[4]["derived_from"]["process"] == "buffer-zones"
    again = _publish(client, "result-guard-own")
    assert again.status_code == 200, again.text
    assert _catalog_row(sample_url, "result-guard-own")[5] == first[5] + 1


def test_the_guard_checked_again_at_publish_time() -> None:
    """The rule itself: no origin, or another owner, is a conflict; nothing there is new."""
    assert check_target("new-id", None, "token") is False
    derived = {"origin": "analysis", "derived_from": {"owner": "token"}}
    assert check_target("mine", derived, "token") is True
    with pytest.raises(Conflict, match="another publisher"):
        check_target("theirs", derived, "local:127.0.0.1")
    with pytest.raises(Conflict, match="no analysis created"):
        check_target("gd-counties", {"caveat": "GCJ-02"}, "token")


def _points(n: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"n": list(range(n))},
        geometry=[shapely.Point(113.3 + i * 0.01, 23.1) for i in range(n)],
        crs=4490,
    )


def test_rollback_restores_the_versions_metadata(sample_url: str, tmp_path: Path) -> None:
    for n, (title, licence) in enumerate([("第一版", "CC-BY-4.0"), ("第二版", "proprietary")]):
        path = tmp_path / f"v{n}.gpkg"
        _points(n + 2).to_file(path, driver="GPKG")
        meta = LayerMeta(
            id="test-meta-versions",
            title_zh=title,
            title_en=title,
            level="province",
            adcode="440000",
            license=licence,
            attribution=f"attribution {n}",
            metadata={"caveat": f"caveat {n}"},
        )
        ingest_file(sample_url, path, meta, IngestOptions(who="tests", raster_dir=tmp_path))
    assert _catalog_row(sample_url, "test-meta-versions")[:3] == ("第二版", "第二版", "proprietary")
    with psycopg.connect(sample_url) as conn:
        assert rollback(conn, "test-meta-versions") == 1
    title, _, licence, attribution, metadata, version = _catalog_row(
        sample_url, "test-meta-versions"
    )
    assert (title, licence, attribution, version) == ("第一版", "CC-BY-4.0", "attribution 0", 1)
    assert metadata == {"caveat": "caveat 0"}
    with psycopg.connect(sample_url) as conn:
        assert rollback(conn, "test-meta-versions", 2) == 2
        count = conn.execute('SELECT count(*) FROM onemap_data."test-meta-versions"').fetchone()
    assert count == (3,)
    assert _catalog_row(sample_url, "test-meta-versions")[2] == "proprietary"
