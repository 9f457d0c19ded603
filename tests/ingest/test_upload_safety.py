"""Uploads that are unsafe: hostile form fields, foreign origins, archive bombs, killed runs.

Everything goes through the real app (or the real ``onemap ingest`` process) on PostGIS;
archives are real zip bytes.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from fastapi.testclient import TestClient
from shapely import points

from ingest.archives import ArchiveLimits, extract
from ingest.workdirs import sweep, work_dir
from layers.errors import IngestError
from layers.settings import ServiceSettings
from tests.conftest import PUBLISHER
from tests.helpers.live import file_server
from tests.helpers.wait import wait_for
from tests.ingest import builders
from tests.ingest.conftest import Publish

MB = 1024 * 1024


@pytest.fixture(scope="module")
def schools_geojson(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("schools")
    return builders.write(builders.SCHOOLS, folder / "schools.geojson").read_bytes()


def _post(client: TestClient, data: dict[str, str], body: bytes, name: str = "s.geojson") -> dict:  # type: ignore[type-arg]
    response = client.post("/ingest", files={"file": (name, body)}, data=data, headers=PUBLISHER)
    return {"status": response.status_code, "description": response.json().get("description", "")}


# Each of these answered 500 (a CHECK or FK violation, a NUL byte in PostgreSQL text,
# a PROJ or codec error) or, for 'theme', published a layer whose roll-ups cannot exist.
BAD_FIELDS = [
    ({"id": "\x00"}, "'id'"),
    ({"id": "x" * 100}, "id must be"),
    ({"id": "../etc"}, "id must be"),
    ({"id": "A B"}, "id must be"),
    ({"layer": "a\x00b"}, "'layer'"),
    ({"level": "galaxy"}, "level must be"),
    ({"level": "\x00"}, "'level'"),
    ({"adcode": "12"}, "adcode must be"),
    ({"adcode": "9" * 100_000}, "'adcode'"),
    ({"source_crs": "EPSG:99999999999999"}, "source_crs"),
    ({"source_crs": "+proj=longlat +a=1"}, "source_crs"),
    ({"source_crs": "\x00"}, "'source_crs'"),
    ({"department": "nonexistent-dept"}, "department"),
    ({"encoding": "klingon"}, "encoding"),
    ({"encoding": "rot13"}, "encoding"),
    ({"encoding": "\x00"}, "'encoding'"),
    ({"title": "\x00"}, "'title'"),
    ({"title_en": "x" * 5000}, "'title_en'"),
    ({"theme": "x" * 100}, "theme must be"),
    ({"source_layer": "\x00"}, "'source_layer'"),
]


@pytest.mark.parametrize(("fields", "named"), BAD_FIELDS, ids=[str(f)[:40] for f, _ in BAD_FIELDS])
def test_bad_form_fields_are_400_naming_the_field(
    client: TestClient, schools_geojson: bytes, fields: dict[str, str], named: str
) -> None:
    answer = _post(client, {"id": "hostile-form", **fields}, schools_geojson)
    assert answer["status"] == 400, answer
    assert named in answer["description"], answer


def test_ten_thousand_form_fields_are_a_400(client: TestClient, schools_geojson: bytes) -> None:
    many = {f"p{i}": "x" for i in range(10_000)}
    answer = _post(client, many, schools_geojson)
    assert answer["status"] == 400 and "fields" in answer["description"], answer


def test_a_feature_with_ten_thousand_properties_is_a_422(client: TestClient) -> None:
    """PostgreSQL's 1600-column limit was a TooManyColumns 500."""
    feature = {
        "type": "Feature",
        "properties": {f"p{i}": i for i in range(10_000)},
        "geometry": {"type": "Point", "coordinates": [113.3, 23.1]},
    }
    body = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    answer = _post(client, {"id": "ten-thousand-properties"}, body, "wide.geojson")
    assert answer["status"] == 422, answer
    assert "10000 attributes" in answer["description"]


@pytest.mark.parametrize(
    ("name", "stored_as"),
    [
        ("s" * 300 + ".geojson", "s" * 180 + ".geojson"),
        ("..", "upload"),
        ("a/../../x.geojson", "x"),
    ],
)
def test_hostile_file_names_are_made_safe(
    client: TestClient, schools_geojson: bytes, name: str, stored_as: str
) -> None:
    """A 300-character name was an OSError, '..' an IsADirectoryError (both 500)."""
    answer = _post(client, {"id": f"name-{len(name)}-{stored_as[:3]}"}, schools_geojson, name)
    assert answer["status"] in (201, 422), answer  # '..' has no type: a 422 naming 'upload'
    if answer["status"] == 422:
        assert stored_as in answer["description"]


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("a.gpkg", b"SQLite format 3\x00garbage"),
        ("a.kmz", b"PK\x03\x04garbage"),
        ("a.kml", b"<kml>" * 10),
        ("a.shp", b"\x00" * 100),
        ("a.gdb", b"garbage"),
    ],
)
def test_failed_upload_messages_carry_no_server_path(
    client: TestClient, settings: ServiceSettings, name: str, body: bytes
) -> None:
    answer = _post(client, {"id": "pathless"}, body, name)
    assert answer["status"] == 422, answer
    text = answer["description"]
    assert name in text, text  # the user's file name stays
    for leak in ("uploads/", "onemap-ingest", str(settings.data_dir), os.getcwd(), "/tmp"):
        assert leak not in text, text


def test_server_paths_are_cut_from_messages_but_file_names_stay(tmp_path: Path) -> None:
    from ogc.errors import without_server_paths

    roots = [str(tmp_path), ".onemap"]
    gdal = f"'{tmp_path}/123-456-ingest-x/nested/学校.shp' not recognized as a supported format"
    assert without_server_paths(gdal, roots) == "'学校.shp' not recognized as a supported format"
    relative = ".onemap/uploads/123-456-upload-y/a.shp: no .dbf beside it"
    assert without_server_paths(relative, roots) == "a.shp: no .dbf beside it"
    url = "see http://www.opengis.net/def/crs/EPSG/0/4490 and /collections"
    assert without_server_paths(url, roots) == url


def test_uploads_leave_no_folder_behind(
    client: TestClient, settings: ServiceSettings, schools_geojson: bytes
) -> None:
    _post(client, {"id": "leaves-nothing"}, schools_geojson)
    _post(client, {"id": "leaves-nothing-bad"}, b"PK\x03\x04 nope", "x.zip")
    mine = [p for p in settings.upload_dir.iterdir() if p.name.startswith(f"{os.getpid()}-")]
    assert mine == []


# --- cross-origin writes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", "/ingest", {"Origin": "https://evil.example"}),
        ("POST", "/ingest", {"Origin": "null"}),
        ("POST", "/ingest", {"Sec-Fetch-Site": "cross-site"}),
        ("POST", "/ingest", {"Sec-Fetch-Site": "same-site", "Origin": "http://testserver"}),
        ("DELETE", "/jobs/00000000-0000-0000-0000-000000000000", {"Origin": "http://evil"}),
    ],
)
def test_cross_origin_writes_are_403(
    client: TestClient, method: str, path: str, headers: dict[str, str]
) -> None:
    files = {"file": ("a.geojson", b"{}")} if path == "/ingest" else None
    response = client.request(method, path, headers=PUBLISHER | headers, files=files)
    assert response.status_code == 403, response.text
    assert "refused" in response.json()["description"]
    assert "access-control-allow-origin" not in response.headers


def test_same_origin_and_non_browser_writes_pass(
    client: TestClient, schools_geojson: bytes
) -> None:
    own = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    for i, extra in enumerate((own, {})):
        response = client.post(
            "/ingest",
            files={"file": ("s.geojson", schools_geojson)},
            data={"id": f"same-origin-{i}"},
            headers=PUBLISHER | extra,
        )
        assert response.status_code == 201, response.text


def test_analyses_may_run_from_other_origins(client: TestClient) -> None:
    """Executing a process publishes nothing: web apps of other origins may call it."""
    body = {"inputs": {"sites": {"type": "FeatureCollection", "features": []}}}
    foreign = {"Origin": "https://app.example"}
    preflight = client.options(
        "/processes/buffer-zones/execution",
        headers=foreign | {"Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]
    response = client.post("/processes/buffer-zones/execution", json=body, headers=foreign)
    assert response.status_code != 403, response.text
    assert response.headers["access-control-allow-origin"] == "*"


def test_cors_preflight_does_not_allow_foreign_writes(client: TestClient) -> None:
    preflight = client.options(
        "/ingest",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "POST" not in preflight.headers.get("access-control-allow-methods", "")
    assert preflight.status_code >= 400
    read = client.get("/collections", headers={"Origin": "https://evil.example"})
    assert read.headers["access-control-allow-origin"] == "*"  # reads stay open


# --- archives -------------------------------------------------------------------------------


def _zip_of_zeros(path: Path, megabytes: int, name: str = "big.dbf") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(name, "w") as member:
        for _ in range(megabytes):
            member.write(b"\x00" * MB)
    return path


def _bytes_under(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_a_zip_bomb_is_stopped_while_it_unpacks(tmp_path: Path) -> None:
    bomb = _zip_of_zeros(tmp_path / "bomb.zip", 40)  # ~40 kB of zip for 40 MB
    assert bomb.stat().st_size < MB
    limits = ArchiveLimits(max_upload_mb=1, floor_mb=4)  # cap: min(10 MB, max(4 MB, 100 × size))
    with pytest.raises(IngestError, match="unpacks to more than"):
        extract(bomb, tmp_path / "out", limits)
    budget = limits.budget(bomb.stat().st_size)
    assert _bytes_under(tmp_path / "out") <= budget  # counted while writing, not after


def test_a_header_that_lies_about_the_size_is_refused(tmp_path: Path) -> None:
    honest = _zip_of_zeros(tmp_path / "liar.zip", 8)
    data = bytearray(honest.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size
        at = data.index(signature)
        data[at + offset : at + offset + 4] = struct.pack("<I", 1000)
    honest.write_bytes(bytes(data))
    with pytest.raises(IngestError):
        extract(honest, tmp_path / "out", ArchiveLimits())
    assert _bytes_under(tmp_path / "out") <= 1000 + MB


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil.txt", "C:/evil.txt", "a/../../x"])
def test_members_leaving_the_folder_are_refused(tmp_path: Path, member: str) -> None:
    archive = tmp_path / "escape.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr(zipfile.ZipInfo(member), "evil")
    with pytest.raises(IngestError, match="escapes the archive"):
        extract(archive, tmp_path / "out" / "in", ArchiveLimits())
    assert not (tmp_path / "out").exists(), "nothing is written before every name is checked"


def test_symlinks_and_too_many_members_are_refused(tmp_path: Path) -> None:
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("passwd.shp")
        info.external_attr = (0o120777 << 16) | 0
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(IngestError, match="symbolic link"):
        extract(link, tmp_path / "a", ArchiveLimits())
    crowd = tmp_path / "crowd.zip"
    with zipfile.ZipFile(crowd, "w") as zf:
        for i in range(11):
            zf.writestr(f"f{i}.txt", "")
    with pytest.raises(IngestError, match="at most 10 are accepted"):
        extract(crowd, tmp_path / "b", ArchiveLimits(max_members=10))


def test_upload_of_a_zip_bomb_is_a_422_and_leaves_nothing(
    settings: ServiceSettings, tmp_path: Path
) -> None:
    from ogc.app import create_app

    small = settings.model_copy(update={"max_upload_mb": 1, "data_dir": tmp_path / "data"})
    bomb = _zip_of_zeros(tmp_path / "bomb.zip", 12).read_bytes()  # 12 MB > 10 × 1 MB
    with TestClient(create_app(small)) as client:
        response = client.post(
            "/ingest", files={"file": ("bomb.zip", bomb)}, data={"id": "bomb"}, headers=PUBLISHER
        )
    assert response.status_code == 422, response.text
    assert "unpacks to more than 10 MB" in response.json()["description"]
    assert list((tmp_path / "data" / "uploads").iterdir()) == []


def test_kmz_is_unpacked_within_the_same_limits(
    publish: Publish, layer_id: str, tmp_path: Path
) -> None:
    kml = builders.write(builders.SCHOOLS, tmp_path / "doc.kml", driver="KML")
    kmz = builders.zipped([kml], tmp_path / "schools.kmz")
    assert publish(kmz, layer_id, max_upload_mb=1).features_out == 4
    padded = tmp_path / "padded.kmz"
    with zipfile.ZipFile(padded, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("doc.kml", "w") as f:
        f.write(kml.read_bytes() + b" " * (12 * MB))  # trailing whitespace: still valid KML
    with pytest.raises(IngestError, match="unpacks to more than 10 MB"):
        publish(padded, f"{layer_id}-padded", max_upload_mb=1)


# --- downloads and killed runs -----------------------------------------------------------


def _onemap(url: str, data_dir: Path, *args: str, **env_extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEMAP_")}
    env |= {"ONEMAP_DATABASE_URL": url, "ONEMAP_DATA_DIR": str(data_dir), **env_extra}
    return subprocess.Popen(
        [sys.executable, "-m", "ogc.cli.main", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_download_stops_at_the_upload_limit(
    sample_url: str, tmp_path: Path, file_server_root: tuple[str, Path]
) -> None:
    base, root = file_server_root
    (root / "huge.geojson").write_bytes(b" " * (3 * MB))
    proc = _onemap(
        sample_url, tmp_path / "data", "ingest", f"{base}/huge.geojson", ONEMAP_MAX_UPLOAD_MB="1"
    )
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "ONEMAP_MAX_UPLOAD_MB" in err, err
    assert list((tmp_path / "data" / "uploads").iterdir()) == []


@pytest.fixture
def file_server_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "served"
    root.mkdir()
    with file_server(root) as url:
        yield url, root


def test_a_killed_ingest_leaves_no_temp_folder_after_the_next_run(
    sample_url: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(11)
    many = points(rng.uniform(110, 117, 300_000), rng.uniform(21, 25, 300_000))
    frame = gpd.GeoDataFrame({"v": np.arange(len(many))}, geometry=many, crs="EPSG:4490")
    gpkg = builders.write(frame, tmp_path / "src" / "many.gpkg")
    archive = builders.zipped([gpkg], tmp_path / "many.zip")
    data, uploads = tmp_path / "data", tmp_path / "data" / "uploads"
    proc = _onemap(sample_url, data, "ingest", str(archive), "--id", "killed-unzipped")

    def unpacked() -> bool:  # unpacked, now reading
        assert proc.poll() is None, "the ingest ended before it unpacked"
        return bool(list(uploads.glob(f"{proc.pid}-*/many/many.gpkg")))

    wait_for(unpacked, "never unpacked", timeout=60)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    left = list(uploads.iterdir())
    assert [p.name.split("-")[0] for p in left] == [str(proc.pid)], "SIGKILL cannot clean up"
    small = builders.write(builders.SCHOOLS, tmp_path / "next.geojson")
    nxt = _onemap(sample_url, data, "ingest", str(small), "--id", "after-the-kill")
    _, err = nxt.communicate(timeout=120)
    assert nxt.returncode == 0, err
    assert list(uploads.iterdir()) == [], "the next run sweeps the dead run's folder"


def test_sweep_keeps_the_folders_of_live_processes(tmp_path: Path) -> None:
    with work_dir(tmp_path, "live") as mine:
        stranger = tmp_path / "not-an-ingest-folder"
        stranger.mkdir()
        dead = tmp_path / "999999999-1-run-x"  # no such pid
        dead.mkdir()
        assert sweep(tmp_path) == [dead]
        assert mine.exists() and stranger.exists()
    assert not mine.exists()
