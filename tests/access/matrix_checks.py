"""How the access matrix reads an answer: never a byte of what its caller may not see.

Text bodies (JSON, HTML, CSV, XML, problem documents) are searched for the forbidden
strings of ``matrix_rules``; vector tiles are decoded (layer names, attribute names and
values); WMTS capabilities and GetFeatureInfo are parsed; PNG map tiles are compared with an
empty tile (a clipped caller's tile of a county outside their area) or with the public
edition (a public layer looks the same to everyone).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.access.matrix_rules import (
    Case,
    clipped,
    forbidden_strings,
    required_names,
    required_strings,
    sees,
)
from tests.access.matrix_world import LAYERS, UNKNOWN, Who
from tests.tiles.helpers import decode, opaque_pixels, png_pixels

OWS = "{http://www.opengis.net/ows/1.1}"
WMTS = "{http://www.opengis.net/wmts/1.0}"
Levels = dict[str, tuple[str, str | None]]
Answers = dict[tuple[str, str], httpx.Response]  # (caller name, URL) -> their first answer


def body_text(case: Case, answer: httpx.Response) -> str:
    """Everything of the body a person or a program could read, as text."""
    if answer.status_code == 200 and case.kind == "mvt":
        return json.dumps(decode(answer.content), ensure_ascii=False, default=str)
    if answer.status_code == 200 and case.kind == "png":
        return ""  # pixels: compared in ``png_problems``
    return answer.content.decode("utf-8", errors="replace")


def leaks(case: Case, who: Who, answer: httpx.Response, levels: Levels) -> list[str]:
    """The forbidden strings found in ``answer`` (raw bytes and decoded text)."""
    text = body_text(case, answer)
    raw = answer.content
    headers = "\n".join(f"{k}: {v}" for k, v in answer.headers.items())
    found = []
    for marker in forbidden_strings(who, levels, named=case.layers):
        if marker in text or marker.encode() in raw or marker in headers:
            found.append(marker)
    return found


def unkeyed_links(who: Who, answer: httpx.Response, base: str) -> list[str]:
    """The links into the server of a JSON or XML answer to a caller sending ``tk=`` that
    lost the key (a client following them would be refused, or served as the public)."""
    if who.tk is None or not re.search("json|xml", answer.headers.get("content-type", "")):
        return []
    key = urlencode({"tk": who.tk})
    links = re.findall(re.escape(base) + r'[^"<>\s\\]*', answer.text)
    return [link for link in links if key not in link.replace("&amp;", "&")]


def structure_problems(case: Case, who: Who, answer: httpx.Response, levels: Levels) -> list[str]:
    """What the parsed answer shows that it must not (or lacks that it must show)."""
    if answer.status_code != 200:
        return []
    if case.kind == "mvt":
        return _mvt_problems(case, who, answer.content, levels)
    if case.kind == "xml" or "xml" in answer.headers.get("content-type", ""):
        return _xml_problems(who, answer.text, levels)
    if case.kind == "json" and case.template.endswith("/items") and _of_the_matrix(case):
        return _items_problems(case, who, answer.json(), levels)
    if case.template == "/search" and case.layers and case.layers[0] in LAYERS:
        text = answer.text
        missing = [m for m in required_names(who, case.layers[0], levels) if m not in text]
        return [f"search lacks what the caller may see: {missing[:3]}"] if missing else []
    return []


def _visible_ids(who: Who, levels: Levels) -> set[str]:
    return {layer_id for layer_id in levels if sees(who, layer_id, levels)}


def _mvt_problems(case: Case, who: Who, data: bytes, levels: Levels) -> list[str]:
    tile: dict[str, Any] = decode(data)
    problems = [
        f"MVT layer {name!r} is not visible to the caller"
        for name in tile
        if name in LAYERS and not sees(who, name, levels)
    ]
    if len(case.layers) == 1 and case.layers[0] in LAYERS:
        layer_id = case.layers[0]
        text = json.dumps(tile, ensure_ascii=False)
        missing = [m for m in required_strings(who, layer_id, levels, True) if m not in text]
        if missing:
            problems.append(f"MVT lacks what the caller may see: {missing[:3]}")
    return problems


def _of_the_matrix(case: Case) -> bool:
    """About one of the matrix's layers (the sample layers' items are large and carry no
    markers: not parsed)."""
    return len(case.layers) == 1 and case.layers[0] in LAYERS


def _items_problems(case: Case, who: Who, document: dict[str, Any], levels: Levels) -> list[str]:
    layer_id = case.layers[0]
    text = json.dumps(document, ensure_ascii=False)
    missing = [m for m in required_strings(who, layer_id, levels) if m not in text]
    return [f"items lack what the caller may see: {missing[:3]}"] if missing else []


def _xml_problems(who: Who, text: str, levels: Levels) -> list[str]:
    root = ET.fromstring(text)
    offered = {layer.findtext(f"{OWS}Identifier") for layer in root.iter(f"{WMTS}Layer")}
    visible = _visible_ids(who, levels)
    problems = [
        f"capabilities offer hidden layer {i}" for i in offered if i in LAYERS and i not in visible
    ]
    if root.tag == f"{WMTS}Capabilities":
        problems += [
            f"capabilities lack visible layer {i}"
            for i in visible
            if i in LAYERS and i not in offered
        ]
    return problems


def png_problems(
    case: Case, who: Who, answer: httpx.Response, public_edition: bytes | None, empty: bool
) -> list[str]:
    """A PNG map tile: empty where the caller sees none of the tile's features, else
    (a public layer) pixel for pixel the public edition."""
    if answer.status_code != 200 or case.kind != "png":
        return []
    image = png_pixels(answer.content)
    if empty:
        count = opaque_pixels(image)
        return [f"PNG has {count} opaque pixels; the caller sees no feature here"] if count else []
    if public_edition is None:
        return [] if opaque_pixels(image) else ["PNG is empty; the caller sees features here"]
    reference = png_pixels(public_edition).convert("RGBA").tobytes()
    same = image.convert("RGBA").tobytes() == reference
    return [] if same else ["PNG differs from the public edition of this public layer"]


def matrix_png_problems(
    callers: list[Who], cases: list[Case], answers: Answers, levels: Levels
) -> list[str]:
    """``png_problems`` of every PNG answer of the matrix."""
    found = []
    for who in callers:
        for case in cases:
            if case.kind == "png":
                answer = answers[(who.name, case.url)]
                edition = _public_edition(case, answers, levels)
                empty = bool(case.layers) and _county_tile_hidden(case, who, levels)
                for problem in png_problems(case, who, answer, edition, empty):
                    found.append(f"{who.name} GET {case.url}: {problem}")
    return found


def _public_edition(case: Case, answers: Answers, levels: Levels) -> bytes | None:
    """The anonymous caller's tile of a public layer (None for other layers)."""
    if not case.layers or any(levels.get(i, ("",))[0] != "public" for i in case.layers):
        return None
    anonymous = answers[("anonymous", case.url)]
    return anonymous.content if anonymous.status_code == 200 else None


def _county_tile_hidden(case: Case, who: Who, levels: Levels) -> bool:
    """A map tile of county 440106 only, for a caller clipped to another area."""
    layer_id = case.layers[0]
    return "/map/tiles/" in case.url and layer_id != UNKNOWN and clipped(who, levels[layer_id][0])
