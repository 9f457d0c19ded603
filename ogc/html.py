"""HTML pages for every resource, in Chinese and English, with an inline SVG map.

The map is drawn server-side as SVG from the page's GeoJSON (CRS84), so pages
work offline with no JavaScript library and no tile server. Not a hot path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from layers.catalog import Layer
from ogc.negotiation import language

_ENV = Environment(loader=PackageLoader("ogc", "templates"), autoescape=select_autoescape())

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


def render(
    request: Request, template: str, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    lang = language(request)
    other = "en" if lang == "zh" else "zh"
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("lang", "f")]
    query = "&".join(f"{k}={v}" for k, v in params)
    page = _ENV.get_template(template).render(
        t=TEXT[lang],
        lang=lang,
        base=str(request.base_url).rstrip("/"),
        json_href=f"{request.url.path}?{query}&f=json" if query else f"{request.url.path}?f=json",
        other_lang_href=f"{request.url.path}?{query}&f=html&lang={other}".replace("?&", "?"),
        **context,
    )
    return HTMLResponse(page, headers=headers)


def title_of(layer: Layer, lang: str) -> str:
    return layer.title_zh if lang == "zh" else layer.title_en


def items_page(
    request: Request, layer: Layer, document: dict[str, Any], headers: dict[str, str]
) -> HTMLResponse:
    features = document.get("features", [])
    links = {link["rel"]: link["href"] for link in document.get("links", [])}
    return render(
        request,
        "items.html",
        headers,
        layer=layer,
        title=title_of(layer, language(request)),
        document=document,
        features=features,
        fields=[f.name for f in layer.fields],
        next_href=_as_html(links.get("next")),
        prev_href=_as_html(links.get("prev")),
        svg=svg_map([f.get("geometry") for f in features]),
    )


def feature_page(
    request: Request, layer: Layer, feature: dict[str, Any], headers: dict[str, str]
) -> HTMLResponse:
    return render(
        request,
        "feature.html",
        headers,
        layer=layer,
        title=title_of(layer, language(request)),
        feature=feature,
        svg=svg_map([feature.get("geometry")]),
    )


def _as_html(href: str | None) -> str | None:
    if href is None:
        return None
    return href.replace("?", "?f=html&", 1) if "?" in href else f"{href}?f=html"


def _positions(geometry: Any) -> Iterator[list[list[float]]]:
    """Every ring/line (as a list of positions) of a GeoJSON geometry."""
    if not geometry:
        return
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point":
        yield [coords]
    elif kind in ("MultiPoint", "LineString"):
        yield coords
    elif kind in ("MultiLineString", "Polygon"):
        yield from coords
    elif kind == "MultiPolygon":
        for polygon in coords:
            yield from polygon
    elif kind == "GeometryCollection":
        for part in geometry.get("geometries", []):
            yield from _positions(part)


def svg_map(geometries: Iterable[Any], width: int = 640, height: int = 400) -> str | None:
    """Path data for the geometries in a width×height box (equirectangular, north up)."""
    shapes = [(g.get("type", ""), list(_positions(g))) for g in geometries if g]
    points = [p for _, rings in shapes for ring in rings for p in ring]
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    aspect = math.cos(math.radians((min(ys) + max(ys)) / 2))
    span_x = max((max(xs) - min(xs)) * aspect, 1e-9)
    span_y = max(max(ys) - min(ys), 1e-9)
    scale = 0.92 * min(width / span_x, height / span_y)

    def xy(p: list[float]) -> str:
        x = (p[0] - min(xs)) * aspect * scale + (width - span_x * scale) / 2
        y = (max(ys) - p[1]) * scale + (height - span_y * scale) / 2
        return f"{x:.1f},{y:.1f}"

    parts = []
    for kind, rings in shapes:
        if kind.endswith("Point"):
            parts += [f'<circle cx="{xy(p).split(",")[0]}" cy="{xy(p).split(",")[1]}" r="3"/>'
                      for ring in rings for p in ring]  # fmt: skip
            continue
        closed = "Z" if "Polygon" in kind else ""
        d = " ".join("M" + " L".join(xy(p) for p in ring) + closed for ring in rings if ring)
        parts.append(f'<path d="{d}" fill-rule="evenodd"/>')
    return (
        f'<svg class="map" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(parts)
        + "</svg>"
    )
