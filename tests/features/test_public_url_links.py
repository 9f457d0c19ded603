"""Behind a proxy every link of the HTML pages and the JSON documents starts with
``ONEMAP_PUBLIC_URL``, never with the host and path the request reached the app by."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from layers.settings import ServiceSettings

PUBLIC = "https://map.example.gd.gov.cn/onemap"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("href", "src") and value]


def links_of_page(page: str) -> list[str]:
    parser = _Links()
    parser.feed(page)
    return parser.urls


def links_of_json(document: Any) -> list[str]:
    if isinstance(document, dict):
        found = [document["href"]] if isinstance(document.get("href"), str) else []
        return found + [url for value in document.values() for url in links_of_json(value)]
    if isinstance(document, list):
        return [url for value in document for url in links_of_json(value)]
    return []


def outside_the_public_url(urls: list[str]) -> list[str]:
    """Absolute URLs and root-relative paths that do not start with the public URL
    (a path relative to the page, a fragment or a query stays below it)."""
    return [
        url
        for url in urls
        if not url.startswith(PUBLIC + "/") and url != PUBLIC
        if "://" in url or url.startswith("/")
    ]


@pytest.fixture(scope="module")
def proxied(settings: ServiceSettings) -> Iterator[TestClient]:
    from ogc.app import create_app

    behind_proxy = settings.model_copy(update={"public_url": PUBLIC + "/"})
    with TestClient(create_app(behind_proxy), base_url="http://10.1.2.3:8000") as client:
        yield client


def resources(client: TestClient) -> list[str]:
    first = client.get("/collections/gd-counties/items", params={"limit": 1}).json()
    return [
        "/",
        "/collections",
        "/collections/gd-counties",
        "/collections/gd-counties/items?limit=2",
        f"/collections/gd-counties/items/{first['features'][0]['id']}",
    ]


def test_every_link_of_the_html_pages_starts_with_the_public_url(proxied: TestClient) -> None:
    for path in resources(proxied):
        for lang in ("zh", "en"):
            page = proxied.get(path, params={"f": "html", "lang": lang})
            assert page.status_code == 200, path
            urls = links_of_page(page.text)
            assert urls, path
            assert outside_the_public_url(urls) == [], (path, lang)


def test_every_link_of_the_json_documents_starts_with_the_public_url(
    proxied: TestClient,
) -> None:
    for path in resources(proxied):
        document = proxied.get(path, params={"f": "json"}).json()
        urls = links_of_json(document)
        assert urls, path
        assert outside_the_public_url(urls) == [], path


def test_the_page_links_to_its_json_and_other_language_below_the_public_url(
    proxied: TestClient,
) -> None:
    page = proxied.get("/collections", params={"f": "html", "lang": "zh"}).text
    assert f'href="{PUBLIC}/collections?f=json"' in page
    assert f'href="{PUBLIC}/collections?f=html&amp;lang=en"' in page
