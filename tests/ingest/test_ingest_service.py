"""Ingest as users meet it: the CLI, a URL, the upload endpoint, roll-ups, live reload, kill -9."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely import points

from layers.catalog import Catalog
from ogc.cli.ingest import ProgressBar
from tests.conftest import PUBLISHER
from tests.helpers.live import file_server as serve_files
from tests.helpers.wait import wait_for
from tests.ingest import builders
from tests.ingest.conftest import Publish, rows


def onemap(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEMAP_")}
    env["ONEMAP_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "ogc.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_publishes_and_says_which_layer(
    sample_url: str, tmp_path: Path, client: TestClient
) -> None:
    shp = builders.copy_shared_county_shapefile(tmp_path)
    done = onemap(sample_url, "ingest", str(shp), "--id", "cli-counties", "--title", "县界")
    assert done.returncode == 0, done.stderr
    assert "new layer 'cli-counties'" in done.stdout and "published version 1" in done.stdout
    body = _wait_for(client, "/collections/cli-counties/items?limit=200", lambda b: True)
    names = {f["properties"]["adcode"]: f["properties"]["name"] for f in body["features"]}
    assert names["440106"] == "天河区" and len(names) == 124


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_shows_count_rate_and_eta(
    publish: Publish, layer_id: str, tmp_path: Path
) -> None:
    frame = gpd.GeoDataFrame(
        {"n": np.arange(3000)},
        geometry=points(113 + np.arange(3000) / 1e4, np.full(3000, 23.0)),
        crs="EPSG:4490",
    )
    terminal = _Terminal()
    bar = ProgressBar(terminal, columns=100)
    publish(
        builders.write(frame, tmp_path / "many.gpkg"), layer_id, batch_rows=500, progress=bar.update
    )
    bar.close()
    last = terminal.getvalue().split("\r")[-1]
    assert re.search(r"3\.00k/3\.00k \[\d\d:\d\d<\d\d:\d\d, +[\d.]+k? features/s\]", last), last


def test_cli_bad_input_exits_non_zero_naming_the_file(sample_url: str, tmp_path: Path) -> None:
    bogus = tmp_path / "roads.shp"
    bogus.write_bytes(b"\x00" * 100)
    done = onemap(sample_url, "ingest", str(bogus))
    assert done.returncode != 0
    assert "roads.shp" in done.stderr and "Traceback" not in done.stderr
    clash = onemap(
        sample_url,
        "ingest",
        str(builders.SHARED / "guangdong_admin_cnmaps.gpkg"),
        "--source-layer",
        "gd_county",
        "--id",
        "gd-cities",
    )
    assert clash.returncode != 0 and "--layer gd-cities" in clash.stderr


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[str]:
    with serve_files(tmp_path) as url:
        yield url


def test_cli_ingests_from_a_url(sample_url: str, tmp_path: Path, file_server: str) -> None:
    builders.write(builders.SCHOOLS, tmp_path / "schools.geojson")
    done = onemap(sample_url, "ingest", f"{file_server}/schools.geojson", "--id", "url-schools")
    assert done.returncode == 0, done.stderr
    assert rows(
        sample_url, "SELECT feature_count FROM onemap.layer_versions WHERE layer_id = 'url-schools'"
    ) == [(4,)]


def test_upload_endpoint(client: TestClient, tmp_path: Path) -> None:
    shp = builders.gbk_shapefile(tmp_path)
    archive = builders.zipped(builders.shapefile_parts(shp), tmp_path / "学校.zip")
    with archive.open("rb") as handle:
        response = client.post(
            "/ingest",
            files={"file": ("学校.zip", handle)},
            data={"id": "upload-schools", "title": "学校"},
            headers=PUBLISHER,
        )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["layer"] == "upload-schools" and body["featuresOut"] == 4
    assert response.headers["location"].endswith("/collections/upload-schools")
    with archive.open("rb") as handle:
        again = client.post(
            "/ingest",
            files={"file": ("学校.zip", handle)},
            data={"layer": "upload-schools"},
            headers=PUBLISHER,
        )
    assert again.status_code == 200 and again.json()["unchanged"] is True
    bad = client.post(
        "/ingest",
        files={"file": ("x.zip", b"PK\x03\x04 nope")},
        data={"id": "x1"},
        headers=PUBLISHER,
    )
    assert bad.status_code == 422 and "x.zip" in bad.json()["description"]
    clash = client.post(
        "/ingest",
        files={"file": ("学校.zip", archive.read_bytes())},
        data={"id": "gd-cities"},
        headers=PUBLISHER,
    )
    assert clash.status_code == 409
    without = client.post("/ingest", files={"file": ("学校.zip", archive.read_bytes())})
    assert without.status_code == 403  # loopback alone is not trusted any more


def test_upload_needs_the_token_when_one_is_set(settings: object, tmp_path: Path) -> None:
    from layers.settings import ServiceSettings
    from ogc.app import create_app

    assert isinstance(settings, ServiceSettings)
    locked = settings.model_copy(update={"publisher_token": "s3cret", "max_upload_mb": 1})
    with TestClient(create_app(locked)) as client:
        files = {"file": ("a.geojson", b"{}")}
        assert client.post("/ingest", files=files).status_code == 403
        wrong = client.post("/ingest", files=files, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        big = {"file": ("big.geojson", b"x" * (3 * 1024 * 1024))}
        response = client.post("/ingest", files=big, headers={"Authorization": "Bearer s3cret"})
        assert response.status_code == 413


def test_upload_without_a_configured_token_is_refused(settings: object) -> None:
    from layers.settings import ServiceSettings
    from ogc.app import create_app

    assert isinstance(settings, ServiceSettings)
    open_server = settings.model_copy(update={"publisher_token": None})
    with TestClient(create_app(open_server)) as client:  # from loopback, as a local page is
        response = client.post("/ingest", files={"file": ("a.geojson", b"{}")})
    assert response.status_code == 403
    message = response.json()["description"]
    assert "ONEMAP_PUBLISHER_TOKEN" in message and "onemap ingest" in message


def _wait_for(client: TestClient, url: str, ready: Callable[[dict], bool]) -> dict:  # type: ignore[type-arg]
    last = []

    def body() -> dict | None:  # type: ignore[type-arg]
        last[:] = [response := client.get(url)]
        return response.json() if response.status_code == 200 and ready(response.json()) else None

    return wait_for(
        body,
        lambda: f"{url} did not become ready: {last[0].status_code} {last[0].text[:300]}",
        interval=0.1,
    )


def test_new_version_and_rollback_are_served_at_once_by_running_apps(
    client: TestClient,
    settings: object,
    publish: Publish,
    sample_url: str,
    tmp_path: Path,
) -> None:
    from layers.settings import ServiceSettings
    from ogc.app import create_app

    assert isinstance(settings, ServiceSettings)
    layer_id = "live-schools"
    publish(builders.gbk_shapefile(tmp_path / "v1"), layer_id)
    with TestClient(create_app(settings)) as second:  # another worker / replica
        for app in (client, second):
            _wait_for(app, f"/collections/{layer_id}", lambda b: True)
        publish(builders.write(builders.SCHOOLS.iloc[:1], tmp_path / "v2.gpkg"), layer_id)
        for app in (client, second):
            body = _wait_for(
                app, f"/collections/{layer_id}/items", lambda b: b["numberMatched"] == 1
            )
            assert body["numberReturned"] == 1
        done = onemap(sample_url, "layers", "rollback", layer_id)
        assert done.returncode == 0, done.stderr
        for app in (client, second):
            _wait_for(app, f"/collections/{layer_id}/items", lambda b: b["numberMatched"] == 4)


def test_county_layers_roll_up_to_city_and_province(
    publish: Publish,
    catalog: Callable[[], Catalog],
    migrated_url: str,
    tmp_path: Path,
) -> None:
    by_county = builders.SCHOOLS.groupby("ADCODE")
    for code, frame in by_county:
        path = builders.write(frame, tmp_path / f"schools_{code}.gpkg")
        publish(path, f"schools-{code}", level="county", adcode=str(code), theme="schools")
    city, province = catalog().get("schools-440100"), catalog().get("schools-440000")
    assert (city.level, city.adcode, city.feature_count) == ("city", "440100", 4)
    assert province.level == "province" and province.rollup_of == "schools"
    counted = rows(
        migrated_url,
        f'SELECT source_layer, count(*) FROM onemap_data."{city.table_name}" GROUP BY 1 ORDER BY 1',
    )
    assert counted == [("schools-440104", 1), ("schools-440106", 3)]
    tables = rows(migrated_url, "SELECT relkind FROM pg_class WHERE relname = %s", city.table_name)
    assert tables == [("v",)], "a roll-up is a view: nothing is copied"
    one = builders.SCHOOLS[builders.SCHOOLS["ADCODE"] == "440106"].iloc[:1]
    publish(
        builders.write(one, tmp_path / "tianhe_v2.gpkg"),
        "schools-440106",
        level="county",
        adcode="440106",
        theme="schools",
    )
    assert catalog().get("schools-440100").feature_count == 2
    assert catalog().get("schools-440100").version == city.version + 1


def test_killed_ingest_leaves_no_partial_layer(sample_url: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    many = points(rng.uniform(110, 117, 400_000), rng.uniform(21, 25, 400_000))
    big = builders.write(
        gpd.GeoDataFrame({"v": np.arange(len(many))}, geometry=many, crs="EPSG:4490"),
        tmp_path / "big.gpkg",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEMAP_")}
    env["ONEMAP_DATABASE_URL"] = sample_url
    proc = subprocess.Popen(
        [sys.executable, "-m", "ogc.cli.main", "ingest", str(big), "--id", "killed"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_until_copying(sample_url)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    time.sleep(1)
    assert rows(sample_url, "SELECT count(*) FROM onemap.layers WHERE id = 'killed'") == [(0,)]
    with psycopg.connect(sample_url, autocommit=True) as conn:
        from layers.versions import drop_orphans

        assert drop_orphans(conn) == []
    assert rows(sample_url, "SELECT count(*) FROM pg_class WHERE relname LIKE %s", "killed%") == [
        (0,)
    ]


def _wait_until_copying(url: str) -> None:
    copying = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s"
    wait_for(
        lambda: rows(url, copying, "COPY%killed%")[0][0],
        "the ingest never started copying",
        timeout=60,
    )


def _peak_memory_mb(url: str, path: Path, layer_id: str) -> int:
    """The CLI's own high-water mark (wait4 would count the forked test process too)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEMAP_")}
    env |= {"ONEMAP_DATABASE_URL": url, "ONEMAP_INGEST_BATCH_ROWS": "20000"}
    done = subprocess.run(
        [sys.executable, "-m", "ogc.cli.main", "ingest", str(path), "--id", layer_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    line = next(ln for ln in done.stdout.splitlines() if "peak memory:" in ln)
    return int(line.split(":")[1].split()[0])


def test_memory_does_not_grow_with_file_size(sample_url: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)

    def points_file(n: int, name: str) -> Path:
        geoms = points(rng.uniform(110, 117, n), rng.uniform(21, 25, n))
        frame = gpd.GeoDataFrame(
            {"label": [f"站点{i}" for i in range(n)]}, geometry=geoms, crs="EPSG:4490"
        )
        return builders.write(frame, tmp_path / f"{name}.gpkg")

    small = _peak_memory_mb(sample_url, points_file(40_000, "small"), "rss-small")
    large = _peak_memory_mb(sample_url, points_file(400_000, "large"), "rss-large")
    assert large - small < 60, f"peak memory grew from {small} MB to {large} MB for 10× the data"
