"""The access matrix's requests, generated from what the service advertises: the OpenAPI
document (``/api``) and the WMTS capabilities (KVP operations and RESTful resource URLs), as
an admin (who is shown everything). A new endpoint is covered as soon as it is advertised;
one the generator cannot fill or classify is returned as a problem naming it, never skipped.

Templates are filled for every matrix layer (and one unknown id, the answer hidden layers
must give), every feature place, every job; tile grids are sampled round-robin so each
grid is asked, and every template × layer × caller at least once.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.access.matrix_rules import Case
from tests.access.matrix_world import LAYERS, PLACES, UNKNOWN, World
from tests.tiles.helpers import tile_at
from tiles import grids

LAYER_IDS = (*LAYERS, UNKNOWN)
ADMIN = "admin"
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
OWS = "{http://www.opengis.net/ows/1.1}"
WMTS = "{http://www.opengis.net/wmts/1.0}"
XLINK = "{http://www.w3.org/1999/xlink}"
WMTS_KVP, WMTS_REST_ROOT = "/wmts", "/wmts/1.0.0/"
SEARCH = "/search"
METRICS = "/metrics"
MVT_TYPE = "application/vnd.mapbox-vector-tile"
_VARIABLE = re.compile(r"\{([A-Za-z_]+)\}")
# Query variants of an endpoint, by the template's last segment (the default: none).
FORMATS = {
    "items": ("json", "html", "csv"),
    "{featureId}": ("json", "html"),
    "collections": ("json", "html"),
    "{collectionId}": ("json", "html"),
}


@dataclass
class Generated:
    cases: list[Case] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)  # "METHOD template" of every write
    problems: list[str] = field(default_factory=list)  # endpoints the generator cannot fill
    rest_templates: list[str] = field(default_factory=list)  # WMTS RESTful OpenAPI paths


@dataclass(frozen=True)
class Tile:
    """The tiles of one grid the matrix asks for: ``all`` holds every matrix point,
    ``county`` (a map tile) only points of county 440106; ``info`` is the pixel of the
    first county point in ``all`` (GetFeatureInfo's I, J)."""

    grid: str
    all: tuple[int, int, int]
    county: tuple[int, int, int]
    info: tuple[int, int]


def tiles_of(grid: str) -> Tile:
    points = [p for _, found in PLACES.values() for p in found]
    county = PLACES["in"][1][0]
    matrices = [int(m.id) for m in grids.get_tms(grid).tileMatrices]
    z_all = max(z for z in matrices if z <= 9 and len({tile_at(grid, z, *p) for p in points}) == 1)
    others = [p for place, (_, found) in PLACES.items() if place != "in" for p in found]
    z_county = min(
        z
        for z in matrices
        if z > z_all and all(tile_at(grid, z, *p) != tile_at(grid, z, *county) for p in others)
    )
    row, col = tile_at(grid, z_all, *county)
    return Tile(
        grid,
        (z_all, row, col),
        (z_county, *tile_at(grid, z_county, *county)),
        _pixel(grid, z_all, row, col, county),
    )


def _pixel(grid: str, z: int, row: int, col: int, point: tuple[float, float]) -> tuple[int, int]:
    tms = grids.get_tms(grid)
    bounds = tms.xy_bounds(col, row, z)
    x, y = tms.xy(*point)
    size = tms.matrix(z).tileWidth
    i = int((x - bounds.left) / (bounds.right - bounds.left) * size)
    j = int((bounds.top - y) / (bounds.top - bounds.bottom) * size)
    return i, j


class Filler:
    """Values for a template's variables; a variable it has no values for is a problem."""

    def __init__(self, world: World, grid_ids: list[str], processes: list[str], output: str):
        self.world = world
        self.grids = itertools.cycle(grid_ids)
        self.processes, self.output = processes, output
        self.tiles = {grid: tiles_of(grid) for grid in grid_ids}

    def next_tile(self) -> Tile:
        return self.tiles[next(self.grids)]

    def features(self, layer_id: str) -> list[tuple[str, int]]:
        ids = self.world.feature_ids
        if layer_id == UNKNOWN:
            return [("in", ids[(next(iter(LAYERS)), "in")][0])]
        return [(place, ids[(layer_id, place)][0]) for place in ("in", "nan")]


def generate(world: World, api: dict[str, Any], capabilities: str, filler: Filler) -> Generated:
    out = Generated()
    paths = api["paths"]
    assert isinstance(paths, dict)
    _wmts_cases(capabilities, filler, out)
    for template, operations in paths.items():
        for method in operations:
            if method in WRITE_METHODS:
                out.writes.append(f"{method.upper()} {template}")
            elif method == "get":
                _get_cases(template, filler, out)
            else:
                out.problems.append(f"{method.upper()} {template}: no rule for this method")
    _check_rest_templates(out)
    return out


def _check_rest_templates(out: Generated) -> None:
    """The OpenAPI document's WMTS RESTful routes are filled from the capabilities'
    ResourceURLs (their layer, style and matrix values); each must have been asked."""
    for template in out.rest_templates:
        pattern = re.compile(
            "^"
            + _VARIABLE.sub("[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
            + r"\.[a-z]+$"
        )
        if not any(pattern.match(case.url) for case in out.cases):
            out.problems.append(f"GET {template}: no WMTS ResourceURL of the capabilities asks it")


_ITEMS_OF = re.compile(r"^/collections/([^/{}]+)/items$")


def _get_cases(template: str, filler: Filler, out: Generated) -> None:
    concrete = _ITEMS_OF.match(template)
    if concrete:  # the OpenAPI document's per-collection items path
        out.cases.append(
            Case("GET", template, "/collections/{collectionId}/items", "layer", (concrete[1],))
        )
        return
    if template == SEARCH:
        _search_cases(out)
        return
    if template == WMTS_KVP:  # asked with each operation the capabilities offer
        if not any(c.template.startswith(WMTS_KVP + " ") for c in out.cases):
            out.rest_templates.append(template)
        return
    if template.startswith(WMTS_REST_ROOT) and "{layer}" in template:
        out.rest_templates.append(template)
        return
    variables = _VARIABLE.findall(template)
    unknown = set(variables) - FILLED
    if unknown:
        out.problems.append(f"GET {template}: no values for {sorted(unknown)}")
        return
    scope = "admin" if template.startswith("/admin") else "general"
    if template.startswith("/admin/subscriptions"):
        scope = "subscriptions"
    if template == METRICS:
        scope = "metrics"
    for values, case_scope, extra in _fillings(template, variables, filler, scope):
        url = _fill(template, values)
        kind = _kind(template)
        last = template.rstrip("/").rsplit("/", 1)[-1]
        for fmt in FORMATS.get(last, (None,)):
            query = dict(extra.get("query") or {}) | ({"f": fmt} if fmt else {})
            full = url + ("?" + urlencode(query) if query else "")
            out.cases.append(
                Case(
                    "GET",
                    full,
                    template,
                    case_scope,
                    extra.get("layers", ()),
                    place=extra.get("place"),
                    job_owner=extra.get("job_owner"),
                    department=extra.get("department"),
                    kind=fmt if fmt in ("html", "csv") else kind,
                )
            )


def _search_cases(out: Generated) -> None:
    """Every layer's name markers searched in that layer (an unknown id: its 404), and all
    the matrix's names at once; the checks find what must (not) be there."""
    for layer_id in LAYER_IDS:
        query = urlencode({"q": f"MXN-{layer_id}-", "layers": layer_id, "limit": 50})
        out.cases.append(Case("GET", f"{SEARCH}?{query}", SEARCH, "layer", (layer_id,)))
    out.cases.append(Case("GET", f"{SEARCH}?q=MXN&limit=50", SEARCH, "general"))


FILLED = frozenset(
    {
        "collectionId",
        "featureId",
        "tileMatrixSetId",
        "tileMatrix",
        "tileRow",
        "tileCol",
        "processId",
        "jobId",
        "outputId",
        "keyId",
        "subscriptionId",
    }
)


def _fillings(
    template: str, variables: list[str], filler: Filler, scope: str
) -> Iterator[tuple[dict[str, Any], str, dict[str, Any]]]:
    """(values, scope, extras) for each request of ``template``."""
    keys = {"keyId": filler.world.key_id}
    if "collectionId" in variables:
        for layer_id in LAYER_IDS:
            base = {"collectionId": layer_id, **keys}
            if "featureId" in variables:
                for place, fid in filler.features(layer_id):
                    yield (
                        {**base, "featureId": fid},
                        "feature",
                        {"layers": (layer_id,), "place": place},
                    )
                continue
            yield from _with_tiles(
                template, variables, filler, base, "layer", {"layers": (layer_id,)}
            )
        return
    if "jobId" in variables or "subscriptionId" in variables:
        yield from _owned_fillings(variables, filler, scope)
        return
    if "processId" in variables:
        for process in filler.processes:
            yield {"processId": process}, scope, {}
        return
    if template.startswith("/tiles"):  # dataset tiles: every visible collection, or named ones
        if "tileMatrix" not in variables:  # a tile names its collections
            yield from _with_tiles(template, variables, filler, keys, scope, {})
        for layer_id in LAYER_IDS:
            extra = {"layers": (layer_id,), "query": {"collections": layer_id}}
            yield from _with_tiles(template, variables, filler, keys, "layer", extra)
        return
    yield from _with_tiles(template, variables, filler, keys, scope, {})


def _owned_fillings(
    variables: list[str], filler: Filler, scope: str
) -> Iterator[tuple[dict[str, Any], str, dict[str, Any]]]:
    """Things someone owns: every caller's job; the matrix's subscription (its department)."""
    if "jobId" in variables:
        for owner, job_id in filler.world.jobs.items():
            who = next(w for w in filler.world.callers if w.name == owner)
            values = {"jobId": job_id, "outputId": filler.output}
            yield values, "job", {"job_owner": who.owner}
        return
    watched = filler.world.subscription
    yield {"subscriptionId": watched.id}, scope, {"department": watched.department}


def _with_tiles(
    template: str,
    variables: list[str],
    filler: Filler,
    values: dict[str, Any],
    scope: str,
    extra: dict[str, Any],
) -> Iterator[tuple[dict[str, Any], str, dict[str, Any]]]:
    if "tileMatrixSetId" not in variables:
        yield values, scope, dict(extra)
        return
    tile = filler.next_tile()
    z, row, col = tile.county if "/map/" in template else tile.all
    filled = {"tileMatrixSetId": tile.grid, "tileMatrix": z, "tileRow": row, "tileCol": col}
    yield {**values, **filled}, scope, dict(extra)


def _fill(template: str, values: dict[str, Any]) -> str:
    return _VARIABLE.sub(lambda m: str(values[m[1]]), template)


def _kind(template: str) -> str:
    if template.endswith("{tileCol}"):
        return "png" if "/map/" in template else "mvt"
    return "text" if template == METRICS else "json"


def _wmts_cases(capabilities: str, filler: Filler, out: Generated) -> None:
    root = ET.fromstring(capabilities)
    operations = [op.get("name") for op in root.iter(f"{OWS}Operation")]
    for operation in operations:
        if operation == "GetCapabilities":
            out.cases.append(
                Case(
                    "GET",
                    "/wmts?SERVICE=WMTS&REQUEST=GetCapabilities",
                    "/wmts GetCapabilities",
                    "general",
                    kind="xml",
                )
            )
        elif operation in ("GetTile", "GetFeatureInfo"):
            for layer_id in LAYER_IDS:
                out.cases.extend(_kvp(operation, layer_id, filler))
        else:
            out.problems.append(f"WMTS operation {operation}: no rule for it")
    layers = {layer.findtext(f"{OWS}Identifier"): layer for layer in root.iter(f"{WMTS}Layer")}
    sample = layers[next(iter(LAYERS))]
    for resource in sample.iter(f"{WMTS}ResourceURL"):
        kind = resource.get("resourceType")
        fmt = resource.get("format") or ""
        if kind not in ("tile", "FeatureInfo"):
            out.problems.append(f"WMTS ResourceURL {kind}: no rule for it")
            continue
        for layer_id in LAYER_IDS:
            out.cases.append(_rest(resource.get("template") or "", kind, fmt, layer_id, filler))


def _kvp(operation: str, layer_id: str, filler: Filler) -> list[Case]:
    tile = filler.next_tile()
    z, row, col = tile.all
    common = {
        "SERVICE": "WMTS",
        "REQUEST": operation,
        "VERSION": "1.0.0",
        "LAYER": layer_id,
        "STYLE": "default",
        "TILEMATRIXSET": tile.grid,
        "TILEMATRIX": z,
        "TILEROW": row,
        "TILECOL": col,
    }
    template = f"/wmts {operation}"
    if operation == "GetTile":
        return [
            Case(
                "GET",
                "/wmts?" + urlencode(common | {"FORMAT": fmt}),
                template,
                "layer",
                (layer_id,),
                400,
                kind=kind,
            )
            for fmt, kind in (("image/png", "png"), (MVT_TYPE, "mvt"))
        ]
    i, j = tile.info
    return [
        Case(
            "GET",
            "/wmts?"
            + urlencode(common | {"FORMAT": "image/png", "INFOFORMAT": fmt, "I": i, "J": j}),
            template,
            "layer",
            (layer_id,),
            400,
            kind=kind,
        )
        for fmt, kind in (("application/json", "json"), ("text/html", "html"))
    ]


def _rest(template: str, resource: str, fmt: str, layer_id: str, filler: Filler) -> Case:
    tile = filler.next_tile()
    z, row, col = tile.all
    i, j = tile.info
    values = {
        "TileMatrixSet": tile.grid,
        "TileMatrix": z,
        "TileRow": row,
        "TileCol": col,
        "I": i,
        "J": j,
        "Style": "default",
    }
    path = urlsplit(template).path
    path = path.replace(f"/{next(iter(LAYERS))}/", f"/{layer_id}/", 1)
    url = _VARIABLE.sub(lambda m: str(values[m[1]]), path)
    kind = {"image/png": "png", MVT_TYPE: "mvt", "text/html": "html"}.get(fmt, "json")
    name = f"/wmts REST {resource} {fmt}"
    return Case("GET", url, name, "layer", (layer_id,), 400, kind=kind)
