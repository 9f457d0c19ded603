"""``/viewer`` and its assets over HTTP (no browser): the page, its policy, its key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ogc.routers import viewer as viewer_router


def asset_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]*/viewer/assets/[^"]*)"', page)


def test_the_page_loads_its_assets_from_this_server_and_nothing_else(client: TestClient) -> None:
    response = client.get("/viewer")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = asset_urls(response.text)
    assert sorted(re.sub(r"\?.*", "", u).rsplit("/", 1)[1] for u in urls) == [
        "viewer.css",
        "viewer.js",
    ]
    assert all(u.startswith("http://testserver/viewer/assets/") for u in urls), urls
    policy = response.headers["content-security-policy"]
    assert "default-src 'self' http://testserver;" in policy
    assert 'data-admin-layers="gd-province,gd-cities,gd-counties"' in response.text
    for url in urls:
        asset = client.get(url.replace("&amp;", "&"))
        assert asset.status_code == 200, url
        assert "immutable" in asset.headers["cache-control"]
        assert asset.headers["content-encoding"] == "gzip"  # ~110 KB of ~370 KB for the JS
        assert len(asset.content) > 1000
        assert client.head(url.replace("&amp;", "&")).status_code == 200


def test_asset_urls_carry_the_digest_of_the_built_bundle(client: TestClient) -> None:
    folder = viewer_router.viewer_dir()
    stamps = [viewer_router._stamp(folder / name) for name in viewer_router.ASSET_TYPES]
    version = viewer_router.assets_version(*stamps)
    assert re.fullmatch(r"[0-9a-f]{12}", version)
    assert all(f"?v={version}" in u for u in asset_urls(client.get("/viewer").text))


def test_a_key_in_the_page_url_is_written_into_its_asset_urls(client: TestClient) -> None:
    # no such key: the gate refuses it (401) before the page; an unkeyed page has no tk
    assert client.get("/viewer?tk=not-a-key").status_code == 401
    assert all("tk=" not in u for u in asset_urls(client.get("/viewer").text))


def test_the_language_follows_lang_and_defaults_to_chinese(client: TestClient) -> None:
    assert 'data-lang="zh"' in client.get("/viewer").text
    assert 'lang="en"' in client.get("/viewer?lang=en").text
    english_browser = {"Accept-Language": "en-GB,en;q=0.8"}
    assert 'data-lang="en"' in client.get("/viewer", headers=english_browser).text


@pytest.mark.parametrize("name", ["index.html", "viewer.js.map", "..%2Fviewer.js"])
def test_only_the_two_assets_are_served(client: TestClient, name: str) -> None:
    response = client.get(f"/viewer/assets/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert str(viewer_router.viewer_dir()) not in response.text


def test_an_unknown_asset_names_the_ones_there_are(client: TestClient) -> None:
    description = client.get("/viewer/assets/viewer.mjs").json()["description"]
    assert "'viewer.mjs'" in description and "viewer.css" in description


def test_an_unbuilt_viewer_says_how_to_build_it(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(viewer_router, "viewer_dir", lambda: tmp_path)
    response = client.get("/viewer")
    assert response.status_code == 503
    assert "make viewer" in response.text
    assert str(tmp_path) not in response.text


def test_the_landing_page_links_the_viewer(client: TestClient) -> None:
    zh = client.get("/?f=html").text
    assert re.search(r'<a href="http://testserver/viewer\?lang=zh">[^<]*地图', zh)
    en = client.get("/?f=html&lang=en").text
    assert re.search(r'<a href="http://testserver/viewer\?lang=en">[^<]*map viewer', en)


def test_the_viewer_is_newer_than_its_sources() -> None:
    """The bundle under test is built from the sources in this checkout (``make viewer``
    rebuilds it when a source changes); a stale one would test old code."""
    root = Path(__file__).resolve().parents[2]
    built = (viewer_router.viewer_dir() / "viewer.js").stat().st_mtime
    sources = [*root.joinpath("viewer", "src").iterdir(), root / "viewer" / "build.mjs"]
    stale = [p.name for p in sources if p.stat().st_mtime > built]
    assert stale == [], f"run `make viewer`: changed since the bundle was built: {stale}"
