"""Per-layer styles: one small model drives the PNG renderer and the MapLibre style JSON.

A layer's style is ``metadata["style"]`` in the catalog (any subset of :class:`Style`'s
fields); what is missing comes from a default derived from the geometry type and a colour
picked from the layer id. The *style version* is a short digest of the effective style, so a
style change (a catalog change, NOTIFYed to every replica) gives map tiles a new cache key.
Each layer version's plan (``tiles.plan``) computes its style once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from functools import cached_property
from typing import Any

from layers.catalog import Layer
from layers.errors import InvalidParameter

PALETTE = ("#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928", "#a6761d")
LABEL_FIELDS = ("name_zh", "name", "mc", "title")  # a common name field is labelled by default
MVT = "application/vnd.mapbox-vector-tile"


@dataclass(frozen=True)
class Style:
    fill: str | None = None  # "#rrggbb"
    fill_opacity: float = 0.35
    stroke: str | None = None
    stroke_width: float = 1.0  # pixels
    stroke_opacity: float = 1.0
    point_radius: float = 3.0  # pixels
    label_field: str | None = None
    label_color: str = "#222222"
    label_halo: str = "#ffffff"
    label_size: int = 12  # pixels
    label_min_zoom: int = 6  # WebMercatorQuad-equivalent level from which labels show

    @cached_property  # per style object: a plan's style is asked on every map tile
    def version(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha1(text.encode()).hexdigest()[:10]


def colour_for(layer_id: str) -> str:
    return PALETTE[int(hashlib.sha1(layer_id.encode()).hexdigest(), 16) % len(PALETTE)]


def default_style(layer: Layer) -> Style:
    colour = colour_for(layer.id)
    geometry = (layer.geometry_type or "").upper()
    label = next((name for name in LABEL_FIELDS if layer.field(name)), None)
    if "POLYGON" in geometry:
        return Style(fill=colour, stroke=colour, stroke_width=1.0, label_field=label)
    if "LINE" in geometry:
        return Style(fill=None, stroke=colour, stroke_width=1.5)
    return Style(fill=colour, stroke="#ffffff", stroke_width=1.0, fill_opacity=0.9)


def style_of(layer: Layer) -> Style:
    """The effective style of a layer version (its plan holds it: ``tiles.plan``)."""
    return _merge(default_style(layer), layer.metadata.get("style") or {}, layer)


def _merge(base: Style, custom: Mapping[str, Any], layer: Layer) -> Style:
    known = {f.name for f in fields(Style)}
    unknown = set(custom) - known
    if unknown:
        raise InvalidParameter(f"style of '{layer.id}' has unknown keys {sorted(unknown)}")
    style = replace(base, **dict(custom))
    if style.label_field and layer.field(style.label_field) is None:
        return replace(style, label_field=None)
    return style


COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
RANGES: dict[str, tuple[float, float]] = {  # what a renderer can draw sensibly
    "fill_opacity": (0.0, 1.0),
    "stroke_opacity": (0.0, 1.0),
    "stroke_width": (0.0, 50.0),
    "point_radius": (0.0, 100.0),
    "label_size": (4, 96),
    "label_min_zoom": (0, 24),
}


def check_style(layer: Layer, custom: Mapping[str, Any]) -> dict[str, Any]:
    """A style a layer is given (``metadata["style"]``), checked: known keys, colours as
    ``#rrggbb`` (or null where a default allows none), numbers in range, a label field of
    the layer. A 400 naming the key otherwise; the checked style is returned."""
    known = {f.name: f for f in fields(Style)}
    unknown = sorted(set(custom) - set(known))
    if unknown:
        raise InvalidParameter(f"style: unknown keys {unknown}; known: {sorted(known)}")
    for key, value in custom.items():
        _check_style_value(layer, key, value, known[key].default)
    return dict(custom)


def _check_style_value(layer: Layer, key: str, value: Any, default: Any) -> None:
    if key == "label_field":
        if value is not None and (not isinstance(value, str) or layer.field(value) is None):
            raise InvalidParameter(
                f"style.label_field: {str(value)[:60]!r} is not a field of '{layer.id}'"
            )
        return
    if isinstance(default, str) or key in ("fill", "stroke"):
        if (value is None and key in ("fill", "stroke")) or (
            isinstance(value, str) and COLOUR.fullmatch(value)
        ):
            return
        raise InvalidParameter(f"style.{key}: give a colour as #rrggbb, not {str(value)[:40]!r}")
    low, high = RANGES[key]
    integral = isinstance(default, int)
    allowed = int if integral else int | float
    if isinstance(value, bool) or not isinstance(value, allowed) or not low <= value <= high:
        kind = "an integer" if integral else "a number"
        raise InvalidParameter(f"style.{key}: give {kind} from {low:g} to {high:g}")


def tilejson(layer: Layer, tile_url: str, minzoom: int, maxzoom: int) -> dict[str, Any]:
    """TileJSON 3.0.0 for the layer's vector tiles (``tile_url`` has {z}/{x}/{y})."""
    west, south, east, north = layer.extent or (-180.0, -85.0, 180.0, 85.0)
    return {
        "tilejson": "3.0.0",
        "name": layer.id,
        "description": layer.title,
        "version": f"{layer.version}.0.0",
        "attribution": layer.attribution,
        "scheme": "xyz",
        "tiles": [tile_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, max(minzoom, 6)],
        "vector_layers": [
            {
                "id": layer.id,
                "description": layer.title,
                "minzoom": minzoom,
                "maxzoom": maxzoom,
                "fields": {f.name: f.type for f in layer.fields},
            }
        ],
    }


def maplibre_style(
    layer: Layer, style: Style, tilejson_url: str, glyphs_url: str | None = None
) -> dict[str, Any]:
    """A MapLibre GL style (v8) drawing the layer's vector tiles with ``style``."""
    source = layer.id
    layers: list[dict[str, Any]] = []
    geometry = (layer.geometry_type or "").upper()
    if "POLYGON" in geometry and style.fill:
        layers.append(
            _layer(
                layer.id,
                "fill",
                "fill",
                {"fill-color": style.fill, "fill-opacity": style.fill_opacity},
            )
        )
    if ("POLYGON" in geometry or "LINE" in geometry) and style.stroke:
        layers.append(
            _layer(
                layer.id,
                "line",
                "line",
                {
                    "line-color": style.stroke,
                    "line-width": style.stroke_width,
                    "line-opacity": style.stroke_opacity,
                },
            )
        )
    if "POINT" in geometry:
        layers.append(
            _layer(
                layer.id,
                "circle",
                "circle",
                {
                    "circle-color": style.fill or style.stroke or "#000000",
                    "circle-radius": style.point_radius,
                    "circle-opacity": style.fill_opacity,
                    "circle-stroke-color": style.stroke or "#ffffff",
                    "circle-stroke-width": style.stroke_width,
                },
            )
        )
    if style.label_field and glyphs_url:
        label = _layer(
            layer.id,
            "label",
            "symbol",
            {
                "text-color": style.label_color,
                "text-halo-color": style.label_halo,
                "text-halo-width": 1,
            },
        )
        label["layout"] = {"text-field": ["get", style.label_field], "text-size": style.label_size}
        label["minzoom"] = style.label_min_zoom
        layers.append(label)
    doc: dict[str, Any] = {
        "version": 8,
        "name": layer.title,
        "metadata": {"onemap:style-version": style.version},
        "sources": {source: {"type": "vector", "url": tilejson_url}},
        "layers": layers,
    }
    if glyphs_url:
        doc["glyphs"] = glyphs_url
    return doc


def _layer(source: str, suffix: str, kind: str, paint: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"{source}-{suffix}",
        "type": kind,
        "source": source,
        "source-layer": source,
        "paint": paint,
    }
