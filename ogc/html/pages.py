"""HTML pages for every resource, in Chinese and English, with an inline SVG map.

The map is drawn server-side as SVG from the page's GeoJSON (CRS84, ``ogc.html.svg_map``:
linear time, a bounded number of vertices), so pages work offline with no JavaScript
library and no tile server. The template and the map are rendered in a worker thread
when the response is sent, never on the event loop: a large page does not hold up the
requests beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import anyio
import anyio.lowlevel
import anyio.to_thread
import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.types import Receive, Scope, Send

from layers.catalog import Layer
from ogc.deps import base_url_of, state_of
from ogc.html.svg_map import MAP_WIDTH, svg_map
from ogc.http.negotiation import language
from ogc.http.paths import route_path
from ogc.http.policy import page_policy

__all__ = [
    "MAP_DETAIL", "ThreadRenderedHTML", "feature_page", "items_page", "render", "svg_map",
    "title_of",
]  # fmt: skip

_ENV = Environment(loader=PackageLoader("ogc.html", "templates"), autoescape=select_autoescape())
# base.html inlines the stylesheet (one request per page); the CSP allows exactly that text,
# rendered as the template's include renders it
PAGE_POLICY = {
    "Content-Security-Policy": page_policy(styles=(_ENV.get_template("onemap.css").render(),))
}

TEXT = {
    "zh": {
        "home": "首页", "collections": "数据集", "conformance": "符合性声明", "api": "API 文档",
        "items": "要素", "feature": "要素", "matched": "匹配", "returned": "返回",
        "next": "下一页", "prev": "上一页", "extent": "范围", "crs": "坐标参考系",
        "storage_crs": "存储坐标系", "fields": "字段", "queryables": "可查询字段",
        "json": "JSON", "other_lang": "English", "properties": "属性", "type": "类型",
        "features_of": "的要素", "version": "版本", "count": "要素数", "level": "级别",
        "department": "部门", "license": "许可", "estimate": "估计",
    },
    "en": {
        "home": "Home", "collections": "Collections", "conformance": "Conformance",
        "api": "API documentation", "items": "Items", "feature": "Feature", "matched": "Matched",
        "returned": "Returned", "next": "Next", "prev": "Previous", "extent": "Extent",
        "crs": "Coordinate reference systems", "storage_crs": "Storage CRS", "fields": "Fields",
        "queryables": "Queryables", "json": "JSON", "other_lang": "中文",
        "properties": "Properties", "type": "Type", "features_of": " features",
        "version": "Version", "count": "Features", "level": "Level", "department": "Department",
        "license": "Licence", "estimate": "estimate",
    },
}  # fmt: skip


RENDER_THREADS = 4  # pages drawn at once; the default thread pool stays free for the rest
_render_limiter: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar("html")


def _limiter() -> anyio.CapacityLimiter:
    """This event loop's limiter of page-rendering threads (made on first use, per loop)."""
    try:
        return _render_limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(RENDER_THREADS)
        _render_limiter.set(limiter)
        return limiter


class ThreadRenderedHTML(HTMLResponse):
    """An HTML response whose body is made by ``make_page`` in a worker thread when sent."""

    def __init__(self, make_page: Callable[[], str], headers: dict[str, str] | None) -> None:
        super().__init__(b"", headers=headers)
        self.make_page = make_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        page = await anyio.to_thread.run_sync(self.make_page, limiter=_limiter())
        self.body = self.render(page)
        length = (b"content-length", str(len(self.body)).encode())
        self.raw_headers = [h for h in self.raw_headers if h[0] != b"content-length"] + [length]
        await super().__call__(scope, receive, send)


MAP_DETAIL = MAP_WIDTH  # geometries come simplified to 1/n of their own extent: < 1 px

PageContext = Callable[[], dict[str, Any]]


def render(
    request: Request,
    template: str,
    headers: dict[str, str] | None = None,
    page_context: PageContext | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page of ``template``; ``page_context`` (parsing, the map) runs in the worker thread.

    Every link starts with the base URL (``ONEMAP_PUBLIC_URL`` behind a proxy), as in JSON."""
    lang = language(request)
    other = "en" if lang == "zh" else "zh"
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("lang", "f")]
    base = base_url_of(request, state_of(request).settings)
    here = base + route_path(request.scope)
    context |= {
        "t": TEXT[lang],
        "lang": lang,
        "base": base,
        "json_href": f"{here}?{urlencode([*params, ('f', 'json')])}",
        "other_lang_href": f"{here}?{urlencode([*params, ('f', 'html'), ('lang', other)])}",
    }

    def make_page() -> str:
        extra = page_context() if page_context is not None else {}
        return _ENV.get_template(template).render(**context, **extra)

    return ThreadRenderedHTML(make_page, {**(headers or {}), **PAGE_POLICY})


def title_of(layer: Layer, lang: str) -> str:
    return layer.title_zh if lang == "zh" else layer.title_en


def items_page(
    request: Request, layer: Layer, body: bytes, headers: dict[str, str]
) -> HTMLResponse:
    """The page of a FeatureCollection's bytes (parsed and drawn off the event loop)."""

    def page_context() -> dict[str, Any]:
        document = orjson.loads(body)
        features = document.get("features", [])
        links = {link["rel"]: link["href"] for link in document.get("links", [])}
        return {
            "document": document,
            "features": features,
            "next_href": _as_html(links.get("next")),
            "prev_href": _as_html(links.get("prev")),
            "svg": svg_map([f.get("geometry") for f in features]),
        }

    return render(
        request,
        "items.html",
        headers,
        page_context,
        layer=layer,
        title=title_of(layer, language(request)),
        fields=[f.name for f in layer.fields],
    )


def feature_page(
    request: Request, layer: Layer, body: bytes, headers: dict[str, str]
) -> HTMLResponse:
    """The page of a Feature's bytes (parsed and drawn off the event loop)."""

    def page_context() -> dict[str, Any]:
        feature = orjson.loads(body)
        return {"feature": feature, "svg": svg_map([feature.get("geometry")])}

    return render(
        request,
        "feature.html",
        headers,
        page_context,
        layer=layer,
        title=title_of(layer, language(request)),
    )


def _as_html(href: str | None) -> str | None:
    if href is None:
        return None
    return href.replace("?", "?f=html&", 1) if "?" in href else f"{href}?f=html"
