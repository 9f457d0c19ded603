"""The gate as departments' clients meet it, on a real socket: Debian's GDAL 3.6 (``ogrinfo``,
``gdal_translate`` over WMTS), pyogrio's GDAL 3.12, OWSLib and geopandas reading the gate's
restricted, internal and public layers with a key as ``tk=``, with the key as a header and
with an OIDC bearer token — counts, internal fields, an area-limited caller's features, drawn
WMTS pixels — and anonymously, where a hidden layer is as absent as an unknown one.

How each client sends a header (found in the manual trial, scripts/trials/): GDAL 3.6 takes
``--config GDAL_HTTP_HEADERS``; GDAL 3.12's OGC API drivers replace that option with their own
``Accept`` header, so 3.12 is given ``GDAL_HTTP_HEADER_FILE`` (both versions read it) or, for
a token, ``GDAL_HTTP_AUTH=BEARER``. pyogrio has no raster API, so WMTS is read with GDAL 3.6.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas
import httpx
import owslib.ogcapi
import pytest
from fastapi.testclient import TestClient
from owslib.ogcapi.features import Features
from owslib.wmts import WebMapTileService

from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.access.fields_areas_helpers import names_inside_tianhe
from tests.access.identify_fixtures import (
    id_client,
    id_idp,
    id_settings,
    new_key,
    signing_key,
    token,
)
from tests.gate_fixtures import INTERNAL, PUBLIC, RESTRICTED
from tests.helpers.idp import IdentityProvider, SigningKey
from tests.helpers.live import live_server
from tests.tiles.helpers import opaque_pixels, png_pixels, tile_at

__all__ = ["id_client", "id_idp", "id_settings", "signing_key"]  # the fixtures
ALL_POINTS = {f"点{n}" for n in range(1, 13)}  # tests/gate_fixtures.py's table
POINTS_WINDOW = ("113.19", "23.18", "113.34", "23.09")  # -projwin ulx uly lrx lry around them
TIMEOUT = 180
OWSLIB_HEADERS = dict(owslib.ogcapi.REQUEST_HEADERS)  # before any client added to them


@pytest.fixture(scope="module")
def server(id_settings: ServiceSettings, id_client: TestClient) -> Iterator[str]:
    """``onemap serve``'s stack on a free loopback port, once the gate's layers are published
    (``id_client`` publishes them)."""
    with live_server(create_app(id_settings)) as live:
        yield live.url


@pytest.fixture(scope="module")
def keys(sample_url: str) -> dict[str, str]:
    """Secrets of the gate department's keys: no role, government, member, member in 440106."""
    specs: dict[str, dict[str, Any]] = {
        "plain": {},
        "government": {"roles": ("government",)},
        "member": {"roles": ("member",)},
        "tianhe": {"roles": ("member",), "areas": ("440106",)},
    }
    return {name: new_key(sample_url, **spec)[1] for name, spec in specs.items()}


@pytest.fixture(scope="module")
def tianhe(id_client: TestClient, sample_url: str) -> set[str]:
    names = names_inside_tianhe(id_client, sample_url)
    assert names and names < ALL_POINTS  # the area limit has something to cut
    return names


def bearer(idp: IdentityProvider, key: SigningKey, *areas: str) -> str:
    """A fresh member token of the gate's department (optionally limited to ``areas``)."""
    claims = {"areas": list(areas)} if areas else {}
    return token(idp, key, "member", **claims)["Authorization"].removeprefix("Bearer ")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        env=None if env is None else os.environ | env,
    )  # fmt: skip


def debian_names(source: str, layer: str, *config: str) -> set[str]:
    """The ``name`` of every feature Debian's ogrinfo reads, paging by 5 (next links)."""
    done = run("/usr/bin/ogrinfo", "-ro", "-al", "-oo", "PAGE_SIZE=5", *config, source, layer)
    assert done.returncode == 0, done.stderr
    names = [line.split("=", 1)[1].strip() for line in done.stdout.splitlines()
             if line.strip().startswith("name (String) =")]  # fmt: skip
    assert done.stdout.count("OGRFeature(") == len(names)
    return set(names)


def debian_fields(source: str, layer: str) -> str:
    done = run("/usr/bin/ogrinfo", "-ro", "-so", source, layer)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_debian_ogrinfo_with_tk_header_and_token(
    server: str, keys: dict[str, str], id_idp: IdentityProvider, signing_key: SigningKey
) -> None:
    member = keys["member"]
    assert debian_names(f"OAPIF:{server}?tk={member}", RESTRICTED) == ALL_POINTS
    header = ("--config", "GDAL_HTTP_HEADERS", f"X-OneMap-Key: {member}")
    assert debian_names(f"OAPIF:{server}", RESTRICTED, *header) == ALL_POINTS
    auth = f"Authorization: Bearer {bearer(id_idp, signing_key)}"
    assert debian_names(f"OAPIF:{server}", INTERNAL, "--config", "GDAL_HTTP_HEADERS", auth) == (
        ALL_POINTS
    )
    anonymous = run("/usr/bin/ogrinfo", "-ro", "-so", f"OAPIF:{server}", RESTRICTED)
    assert f"Couldn't fetch requested layer {RESTRICTED}" in anonymous.stdout + anonymous.stderr


def test_debian_ogrinfo_sees_fields_and_areas_of_its_key(
    server: str, keys: dict[str, str], tianhe: set[str]
) -> None:
    plain = debian_fields(f"OAPIF:{server}?tk={keys['plain']}", PUBLIC)
    assert "name: String" in plain and "secret" not in plain  # a key without a role: 公众版
    government = debian_fields(f"OAPIF:{server}?tk={keys['government']}", PUBLIC)
    assert "secret: String" in government
    assert debian_names(f"OAPIF:{server}?tk={keys['tianhe']}", RESTRICTED) == tianhe
    unknown = run("/usr/bin/ogrinfo", "-ro", "-so", f"OAPIF:{server}?tk=om_nosuchkey", PUBLIC)
    assert unknown.returncode != 0 and "unknown API key" in unknown.stderr  # a readable 401


def test_gdal_fid_spoils_tk_and_the_401_says_what_to_do(
    server: str, keys: dict[str, str], tmp_path: Path
) -> None:
    """``-fid N`` makes GDAL ask ``…/items?tk=KEY/N``: the 401 says so, and the key given as
    a header file (README) reads the feature with GDAL 3.6 and 3.12."""
    page = httpx.get(f"{server}/collections/{RESTRICTED}/items?limit=1&tk={keys['member']}")
    feature = page.json()["features"][0]
    fid, name = str(feature["id"]), feature["properties"]["name"]
    spoilt = run("/usr/bin/ogrinfo", "-ro", f"OAPIF:{server}?tk={keys['member']}", RESTRICTED,
                 "-fid", fid)  # fmt: skip
    assert "401" in spoilt.stderr and "send the key as the X-OneMap-Key header" in spoilt.stderr
    headers = tmp_path / "headers.txt"
    headers.write_text(f"X-OneMap-Key: {keys['member']}\n")
    env = {"GDAL_HTTP_HEADER_FILE": str(headers)}
    source = f"OGCAPI:{server}/collections/{RESTRICTED}"
    debian = run("/usr/bin/ogrinfo", "-ro", "-oo", "API=ITEMS", source, RESTRICTED, "-fid", fid,
                 env=env)  # fmt: skip
    assert debian.returncode == 0 and f"name (String) = {name}" in debian.stdout, debian.stderr
    one = gdal_312(f"OAPIF:{server}", RESTRICTED, env=env, fids=[int(fid)])
    assert one["names"] == [name]


# GDAL 3.12 runs in a child process: its fetches would otherwise hold this process while the
# live server (a thread of this process) has to answer them.
READ = """
import json, sys, pyogrio
source, layer, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
frame = pyogrio.read_dataframe(source, layer=layer, **options)
print(json.dumps({"gdal": pyogrio.__gdal_version_string__, "names": sorted(frame["name"]),
                  "columns": sorted(frame.columns)}))
"""


def gdal_312(
    source: str, layer: str, env: dict[str, str] | None = None, **options: object
) -> dict[str, Any]:
    """What pyogrio's GDAL reads of ``layer`` (``options``: read_dataframe's keywords)."""
    done = run(sys.executable, "-c", READ, source, layer, json.dumps(options), env=env)
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    assert found["gdal"].startswith("3.12")
    return found


def test_gdal_312_items_with_tk_header_file_and_bearer(
    server: str,
    keys: dict[str, str],
    tianhe: set[str],
    id_idp: IdentityProvider,
    signing_key: SigningKey,
    tmp_path: Path,
) -> None:
    assert set(gdal_312(f"OAPIF:{server}?tk={keys['member']}", RESTRICTED)["names"]) == ALL_POINTS
    headers = tmp_path / "headers.txt"
    headers.write_text(f"X-OneMap-Key: {keys['tianhe']}\n")
    by_header = gdal_312(f"OAPIF:{server}", RESTRICTED, env={"GDAL_HTTP_HEADER_FILE": str(headers)})
    assert set(by_header["names"]) == tianhe
    token = {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": bearer(id_idp, signing_key)}
    assert set(gdal_312(f"OAPIF:{server}", RESTRICTED, env=token)["names"]) == ALL_POINTS
    plain = gdal_312(f"OAPIF:{server}?tk={keys['plain']}", PUBLIC)["columns"]
    assert "name" in plain and "secret" not in plain


def test_gdal_312_vector_tiles_with_tk_and_bearer(
    server: str,
    keys: dict[str, str],
    tianhe: set[str],
    id_idp: IdentityProvider,
    signing_key: SigningKey,
) -> None:
    """The tilesets' links and tile templates keep ``tk=`` (GDAL builds tile URLs from them);
    the area-limited key's tiles hold only its area's points."""
    level, grid = "Zoom level 12", "WorldCRS84Quad"
    source = f"OGCAPI:{server}/collections/{RESTRICTED}"
    by_tk = gdal_312(f"{source}?tk={keys['tianhe']}", level, TILEMATRIXSET=grid)
    assert set(by_tk["names"]) == tianhe
    token = {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": bearer(id_idp, signing_key)}
    by_token = gdal_312(source, level, env=token, TILEMATRIXSET=grid)
    assert set(by_token["names"]) == ALL_POINTS


def wmts_pixels(source: str, tmp_path: Path, *config: str) -> int:
    """Drawn pixels of a 256-pixel-wide window over the points, read through GDAL's WMTS."""
    target = tmp_path / "window.png"
    done = run(
        "/usr/bin/gdal_translate", "-q", "-of", "PNG", *config, "-projwin_srs", "EPSG:4326",
        "-projwin", *POINTS_WINDOW, "-outsize", "256", "0", source, str(target),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return opaque_pixels(png_pixels(target.read_bytes()))


def test_debian_gdal_wmts_with_tk_header_and_token(
    server: str,
    keys: dict[str, str],
    id_idp: IdentityProvider,
    signing_key: SigningKey,
    tmp_path: Path,
) -> None:
    capabilities = f"{server}/wmts/1.0.0/WMTSCapabilities.xml"
    layer = f"layer={RESTRICTED},tilematrixset=WebMercatorQuad"
    by_tk = wmts_pixels(f"WMTS:{capabilities}?tk={keys['member']},{layer}", tmp_path)
    assert by_tk > 50  # the points are drawn: the ResourceURLs kept the key
    header = f"X-OneMap-Key: {keys['member']}"
    by_header = wmts_pixels(
        f"WMTS:{capabilities},{layer}", tmp_path, "--config", "GDAL_HTTP_HEADERS", header
    )
    assert by_header == by_tk
    auth = f"Authorization: Bearer {bearer(id_idp, signing_key)}"
    by_token = wmts_pixels(
        f"WMTS:{capabilities},{layer}", tmp_path, "--config", "GDAL_HTTP_HEADERS", auth
    )
    assert by_token == by_tk
    hidden = run("/usr/bin/gdalinfo", f"WMTS:{capabilities},{layer}")
    unknown = run("/usr/bin/gdalinfo", f"WMTS:{capabilities},{layer}".replace(RESTRICTED, "nope"))
    assert hidden.returncode == unknown.returncode != 0
    assert hidden.stderr.replace(RESTRICTED, "nope") == unknown.stderr


def test_owslib_wmts_with_tk_header_and_token(
    server: str, keys: dict[str, str], id_idp: IdentityProvider, signing_key: SigningKey
) -> None:
    kvp = f"{server}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities"
    row, col = tile_at("WebMercatorQuad", 12, 113.26, 23.13)
    for url, headers in (
        (f"{kvp}&tk={keys['member']}", None),
        (kvp, {"X-OneMap-Key": keys["member"]}),
        (kvp, {"Authorization": f"Bearer {bearer(id_idp, signing_key)}"}),
    ):
        service = WebMapTileService(url, headers=headers)
        assert RESTRICTED in service.contents and INTERNAL in service.contents
        tile = service.gettile(
            layer=RESTRICTED, tilematrixset="WebMercatorQuad", tilematrix="12", row=row,
            column=col, format="image/png", style="default",
        )  # fmt: skip
        assert tile.info()["Content-Type"] == "image/png"
        assert opaque_pixels(png_pixels(tile.read())) > 20
    assert RESTRICTED not in WebMapTileService(kvp).contents


def owslib_features(
    monkeypatch: pytest.MonkeyPatch, url: str, headers: dict[str, str] | None = None
) -> Features:
    """An OWSLib client with headers of its own. OWSLib 0.35's OGC API clients add their
    ``headers`` to its module-level ``REQUEST_HEADERS``, so one client's key or token went
    with every later client of the process, anonymous ones included (the trial found it)."""
    monkeypatch.setattr(owslib.ogcapi, "REQUEST_HEADERS", dict(OWSLIB_HEADERS))
    return Features(url, headers=headers)


def test_owslib_features_with_tk_header_and_token(
    server: str,
    keys: dict[str, str],
    tianhe: set[str],
    id_idp: IdentityProvider,
    signing_key: SigningKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = {"Authorization": "Bearer " + bearer(id_idp, signing_key)}
    for url, headers, expected in (
        (f"{server}?tk={keys['member']}", None, ALL_POINTS),
        (server, {"X-OneMap-Key": keys["tianhe"]}, tianhe),
        (server, token, ALL_POINTS),
    ):
        client = owslib_features(monkeypatch, url, headers)
        assert RESTRICTED in {c["id"] for c in client.collections()["collections"]}
        page = client.collection_items(RESTRICTED, limit=100)
        assert page["numberMatched"] == len(expected)
        assert {f["properties"]["name"] for f in page["features"]} == expected
        assert "secret" in client.collection_queryables(RESTRICTED)["properties"]
    anonymous = owslib_features(monkeypatch, server)
    assert RESTRICTED not in {c["id"] for c in anonymous.collections()["collections"]}
    assert "secret" not in anonymous.collection_queryables(PUBLIC)["properties"]


def test_geopandas_reads_an_items_url_with_tk(
    server: str, keys: dict[str, str], tianhe: set[str]
) -> None:
    items = f"{server}/collections/{RESTRICTED}/items?limit=100"
    frame = geopandas.read_file(f"{items}&tk={keys['member']}")
    assert set(frame["name"]) == ALL_POINTS and "secret" in frame.columns
    assert set(geopandas.read_file(f"{items}&tk={keys['tianhe']}")["name"]) == tianhe
    public = geopandas.read_file(
        f"{server}/collections/{PUBLIC}/items?limit=100&tk={keys['plain']}"
    )
    assert set(public["name"]) == ALL_POINTS and "secret" not in public.columns


def test_wmts_capabilities_expire_at_once(server: str, keys: dict[str, str]) -> None:
    """QGIS keeps WMTS capabilities 24 h by URL unless the answer expires (it drops
    Cache-Control and sets 24 h where Qt found no expiry): a key sent as a header after an
    anonymous visit to the same URL, or a newly published layer, reached QGIS a day late
    (the manual trial, scripts/trials/qgis_gate.py). ``max-age=0`` gives Qt that expiry."""
    rest = f"{server}/wmts/1.0.0/WMTSCapabilities.xml"
    kvp = f"{server}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities"
    member = {"X-OneMap-Key": keys["member"]}
    for url, headers in ((rest, {}), (kvp, {}), (kvp, member), (f"{rest}?tk={keys['member']}", {})):
        answer = httpx.get(url, headers=headers)
        assert answer.status_code == 200, (url, answer.text)
        directives = {d.strip() for d in answer.headers["cache-control"].split(",")}
        assert {"max-age=0", "no-cache"} <= directives, (url, directives)
        assert ("private" in directives) == (headers != {} or "tk=" in url), directives


def test_a_browser_keeps_its_key_through_the_html_pages(server: str, keys: dict[str, str]) -> None:
    """A page opened with ``tk=`` links to features, collections and the landing page with
    it; following the links reaches the restricted layer's feature, not a 404."""
    tk = f"tk={keys['member']}"
    page = httpx.get(f"{server}/collections/{RESTRICTED}/items?f=html&limit=3&{tk}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', page.text)]
    inside = [h for h in hrefs if h.startswith(server)]
    assert inside and all(h.count("tk=") == 1 and tk in h for h in inside), inside
    features = [h for h in inside if f"/collections/{RESTRICTED}/items/" in h]
    assert len(features) == 3
    feature = httpx.get(features[0])
    assert feature.status_code == 200 and "点" in feature.text
    listing = httpx.get(next(h for h in inside if "/collections?" in h))
    assert listing.status_code == 200 and f"/collections/{RESTRICTED}?" in listing.text
