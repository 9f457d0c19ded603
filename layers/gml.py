"""GML 3.2 simple-features (SF-0) geometries and features, both ways: the one place that
knows how a GeoJSON geometry is written as GML and read back (ADR 0013, decision 18).

Coordinates keep the CRS's axis order in both encodings (Part 2), so ``posList`` holds
the numbers GeoJSON would in the same CRS. Parsing uses lxml without DTDs, entities or
network access: a posted body cannot expand entities or make the server fetch a URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree

from layers.errors import InvalidParameter

GML_NS = "http://www.opengis.net/gml/3.2"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SF_NS = "http://www.opengis.net/ogcapi-features-1/1.0/sf"
MAX_GML_BYTES = 8 * 1024 * 1024
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)
_MULTI = {  # GeoJSON multi type: (GML element, member element, part type)
    "MultiPoint": ("MultiPoint", "pointMember", "Point"),
    "MultiLineString": ("MultiCurve", "curveMember", "LineString"),
    "MultiPolygon": ("MultiSurface", "surfaceMember", "Polygon"),
}
_MULTI_OF_GML = {gml: (geojson, part) for geojson, (gml, _, part) in _MULTI.items()}
_MULTI_OF_GML["MultiLineString"] = ("MultiLineString", "LineString")  # GML 3.1 names
_MULTI_OF_GML["MultiPolygon"] = ("MultiPolygon", "Polygon")
SINGLE = ("Point", "LineString", "Polygon")


def gml(name: str) -> str:
    return f"{{{GML_NS}}}{name}"


# -------------------------------------------------------------------------- writing


def geometry_element(geometry: dict[str, Any], srs: str, gml_id: str) -> etree._Element:
    """A GeoJSON geometry as a GML element with ``srsName`` and the ``gml:id`` GML 3.2
    requires of every geometry."""
    kind = geometry["type"]
    coordinates = geometry["coordinates"]
    if kind in _MULTI:
        name, member, part = _MULTI[kind]
        element = etree.Element(gml(name))
        for index, child in enumerate(coordinates):
            holder = etree.SubElement(element, gml(member))
            holder.append(_single(part, child, f"{gml_id}.{index + 1}"))
    else:
        element = _single(kind, coordinates, gml_id)
    element.set("srsName", srs)
    element.set(gml("id"), gml_id)
    return element


def _single(kind: str, coordinates: Any, gml_id: str) -> etree._Element:
    element = etree.Element(gml(kind), {gml("id"): gml_id})
    if kind == "Point":
        etree.SubElement(element, gml("pos")).text = _positions([coordinates])
    elif kind == "LineString":
        etree.SubElement(element, gml("posList")).text = _positions(coordinates)
    elif kind == "Polygon":
        for index, ring in enumerate(coordinates):
            boundary = etree.SubElement(element, gml("exterior" if index == 0 else "interior"))
            linear = etree.SubElement(boundary, gml("LinearRing"))
            etree.SubElement(linear, gml("posList")).text = _positions(ring)
    else:
        raise InvalidParameter(f"a {kind} has no GML simple-features encoding")
    return element


def _positions(points: Any) -> str:
    return " ".join(repr(float(v)) for point in points for v in point[:2])


# -------------------------------------------------------------------------- reading


def parse_document(raw: bytes) -> etree._Element:
    """The root element of a GML body (400 when it is not well-formed XML)."""
    if len(raw) > MAX_GML_BYTES:
        raise InvalidParameter(f"a GML body may be {MAX_GML_BYTES // 2**20} MiB at most")
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidParameter(f"the body is not well-formed XML: {exc}"[:300]) from None
    if root.getroottree().docinfo.internalDTD is not None:  # any DOCTYPE, with or without a subset
        raise InvalidParameter("a GML body may not have a DOCTYPE (no DTDs or entities)")
    return root


def local_name(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


def geometry_of(element: etree._Element) -> tuple[dict[str, Any], str | None]:
    """A GML geometry element as GeoJSON, and its ``srsName`` (None when absent)."""
    kind = local_name(element)
    srs = element.get("srsName")
    if kind in _MULTI_OF_GML:
        geojson_kind, part = _MULTI_OF_GML[kind]
        parts = [
            _coordinates(part, child)
            for member in element
            if isinstance(member.tag, str)
            for child in member
            if isinstance(child.tag, str)
        ]
        return {"type": geojson_kind, "coordinates": parts}, srs
    if kind in SINGLE:
        return {"type": kind, "coordinates": _coordinates(kind, element)}, srs
    raise InvalidParameter(
        f"GML geometry {kind!r} is not a simple feature: use Point, LineString, Polygon, "
        "MultiPoint, MultiCurve or MultiSurface"
    )


def is_geometry(element: etree._Element) -> bool:
    return etree.QName(element).namespace == GML_NS and (
        local_name(element) in SINGLE or local_name(element) in _MULTI_OF_GML
    )


def _coordinates(kind: str, element: etree._Element) -> Any:
    if local_name(element) != kind:
        raise InvalidParameter(f"a GML {kind} was expected, got {local_name(element)!r}")
    if kind == "Point":
        return _numbers(element, "pos")[0]
    if kind == "LineString":
        return _numbers(element, "posList")
    rings = [b for b in element if isinstance(b.tag, str)]
    return [_numbers(ring, "posList") for ring in rings]


def _numbers(element: etree._Element, name: str) -> list[list[float]]:
    """The positions under ``element`` (``posList`` or ``pos`` elements), as x/y pairs in
    the CRS's axis order."""
    texts = [node.text or "" for node in element.iter(gml("posList"), gml("pos"))]
    try:
        values = [float(v) for text in texts for v in text.split()]
    except ValueError:
        raise InvalidParameter(f"gml:{name} holds something that is not a number") from None
    if not values or len(values) % 2:
        raise InvalidParameter(f"gml:{name} must hold x y pairs (2D coordinates)")
    return [values[i : i + 2] for i in range(0, len(values), 2)]


def children(element: etree._Element) -> Iterator[etree._Element]:
    return (child for child in element if isinstance(child.tag, str))
