"""A GML simple-features body (``application/gml+xml``) of a create or replace, read into
the GeoJSON Feature the JSON bodies are, so one set of checks (``layers.edit.body``) applies
to both (ADR 0013, decision 18).

The root element is the feature (its name and ``gml:id`` are ignored: the URI and the
server name it); each child is a property, or the one geometry property. Text is typed by
the layer's field (a number field takes ``6.0``); ``xsi:nil="true"`` is null.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from layers.catalog import Layer
from layers.edit.body import InvalidFeature
from layers.errors import InvalidParameter
from layers.gml import (
    GML_NS,
    XSI_NS,
    children,
    geometry_of,
    is_geometry,
    local_name,
    parse_document,
)

_TRUE, _FALSE = ("true", "1"), ("false", "0")


def gml_feature(raw: bytes, layer: Layer) -> tuple[dict[str, Any], str | None]:
    """The body as a GeoJSON Feature, and its geometry's ``srsName`` (None: not given)."""
    root = parse_document(raw)
    if local_name(root) == "FeatureCollection" or etree.QName(root).namespace == GML_NS:
        raise InvalidParameter(
            "send one feature as the GML body's root element (e.g. <ns:Building>), "
            "not a collection or a bare geometry"
        )
    properties: dict[str, Any] = {}
    geometry: dict[str, Any] | None = None
    srs: str | None = None
    for child in children(root):
        if etree.QName(child).namespace == GML_NS:
            continue  # gml:boundedBy, gml:name, gml:description: not fields
        name, inner = local_name(child), list(children(child))
        if inner and is_geometry(inner[0]):
            if geometry is not None:
                raise InvalidFeature(f"'{name}': the feature has more than one geometry")
            geometry, srs = geometry_of(inner[0])
        elif inner:
            raise InvalidFeature(f"property '{name}' must hold text, not elements")
        else:
            properties[name] = _typed(layer, name, child)
    return {"type": "Feature", "geometry": geometry, "properties": properties}, srs


def _typed(layer: Layer, name: str, element: etree._Element) -> Any:
    if element.get(f"{{{XSI_NS}}}nil") in _TRUE:
        return None
    text = (element.text or "").strip()
    field = layer.field(name)
    kind = field.type if field is not None else "string"
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        raise InvalidFeature(f"property '{name}' must be a {kind}, got {text[:60]!r}") from None
    if kind == "boolean":
        if text.lower() not in (*_TRUE, *_FALSE):
            raise InvalidFeature(f"property '{name}' must be true or false, got {text[:60]!r}")
        return text.lower() in _TRUE
    return text
