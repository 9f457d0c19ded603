"""GML 3.2 SF-0 answers of ``/items`` and ``/items/{featureId}`` (Features Part 1, GML
simple features level 0), made from the GeoJSON PostGIS renders, as JSON-FG's are: the
same features, ids, properties and coordinates (in the requested CRS and its axis order).

A feature is an element named after the collection, in the collection's namespace (its
URI), with ``gml:id`` (``<collection>.<id>``, an NCName); each non-null property is a
child element, the geometry the ``geometry`` child. A page is an ``sf:FeatureCollection``
of ``sf:featureMember`` with ``numberReturned`` / ``numberMatched`` / ``timeStamp``.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from layers.catalog import Layer
from layers.crs import CrsInfo
from layers.gml import GML_NS, SF_NS, geometry_element, gml

GML_MEDIA_TYPE = (
    "application/gml+xml; version=3.2; profile=http://www.opengis.net/def/profile/ogc/2.0/gml-sf0"
)
_NOT_NCNAME = re.compile(r"[^\w.-]")


def gml_feature(feature: dict[str, Any], layer: Layer, crs: CrsInfo, namespace: str) -> bytes:
    return _bytes(_feature(feature, layer, crs, namespace))


def gml_collection(collection: dict[str, Any], layer: Layer, crs: CrsInfo, namespace: str) -> bytes:
    root = etree.Element(f"{{{SF_NS}}}FeatureCollection", nsmap=_nsmap(namespace) | {"sf": SF_NS})
    for name in ("numberMatched", "numberReturned", "timeStamp"):
        if collection.get(name) is not None:
            root.set(name, str(collection[name]))
    for feature in collection.get("features") or []:
        member = etree.SubElement(root, f"{{{SF_NS}}}featureMember")
        member.append(_feature(feature, layer, crs, namespace))
    return _bytes(root)


def _feature(feature: dict[str, Any], layer: Layer, crs: CrsInfo, namespace: str) -> etree._Element:
    feature_id = _ncname(f"{layer.id}.{feature.get('id')}")
    element = etree.Element(f"{{{namespace}}}{_ncname(layer.id)}", nsmap=_nsmap(namespace))
    element.set(gml("id"), feature_id)
    for name, value in (feature.get("properties") or {}).items():
        if value is None or isinstance(value, dict | list) or not _ncname_ok(name):
            continue  # SF-0 properties are simple; a name that is no XML name cannot be one
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        etree.SubElement(element, f"{{{namespace}}}{name}").text = text
    geometry = feature.get("geometry")
    if geometry is not None:
        holder = etree.SubElement(element, f"{{{namespace}}}geometry")
        holder.append(geometry_element(geometry, crs.uri, f"{feature_id}.geom"))
    return element


def _nsmap(namespace: str) -> dict[str, str]:
    return {"gml": GML_NS, "om": namespace}


def _ncname(text: str) -> str:
    cleaned = _NOT_NCNAME.sub("_", text)
    return cleaned if cleaned[:1].isalpha() or cleaned[:1] == "_" else f"_{cleaned}"


def _ncname_ok(name: str) -> bool:
    return _ncname(name) == name


def _bytes(element: etree._Element) -> bytes:
    return bytes(etree.tostring(element, xml_declaration=True, encoding="UTF-8"))
