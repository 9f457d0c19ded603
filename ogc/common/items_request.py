"""An items request's query parameters → ``ItemsQuery`` (every 400 raised here).

The only place that knows which parameter names exist on ``/items``; anything
else that is not a queryable is rejected, as Part 1 requires.
"""

from __future__ import annotations

from collections.abc import Mapping

from layers.catalog import Catalog, Layer
from layers.crs import ServedCrs
from layers.errors import InvalidParameter
from layers.features import AdminArea, AreaClip, ItemsQuery
from layers.features import params as p
from layers.features.filters import request_condition, split_prefix_parameters
from layers.features.plan import FeaturePlan
from layers.settings import ServiceSettings

ITEMS_PARAMETERS = frozenset(
    {
        "limit",
        "offset",
        "bbox",
        "bbox-crs",
        "crs",
        "datetime",
        "filter",
        "filter-lang",
        "filter-crs",
        "sortby",
        "properties",
        "skipGeometry",
        "f",
        "profile",
        "q",
        "after",
        "before",
        "within",
        "lang",
        "tk",
    }
)  # fmt: skip  (tk: an API key, read by the gate)
FEATURE_PARAMETERS = frozenset({"crs", "properties", "skipGeometry", "f", "profile", "lang", "tk"})


def check_known(parameters: Mapping[str, str], known: frozenset[str], plan: FeaturePlan) -> None:
    queryables, layer = plan.queryables, plan.layer
    unknown = [k for k in parameters if k not in known and k not in queryables]
    if unknown:
        raise InvalidParameter(
            f"unknown query parameter(s) {', '.join(map(repr, unknown))}; this endpoint takes "
            f"{', '.join(sorted(known))} and the queryables of '{layer.id}' "
            f"(/collections/{layer.id}/queryables)"
        )


def items_query(
    plan: FeaturePlan,
    parameters: Mapping[str, str],
    settings: ServiceSettings,
    catalog: Catalog,
    clip: AreaClip | None = None,
) -> ItemsQuery:
    """The request on ``plan``'s layer version; its queryables are the plan's (a caller's
    view's plan knows no hidden field). ``clip``: an area-limited caller's areas."""
    p.reject_nul(parameters)
    check_known(parameters, ITEMS_PARAMETERS, plan)
    get = parameters.get
    layer, queryables = plan.layer, plan.queryables
    served = settings.served_crs
    sort = p.parse_sortby(get("sortby"), layer)
    keyset = None
    if get("after") and get("before"):
        raise InvalidParameter("use after or before, not both")
    if get("after") or get("before"):
        backwards = not get("after")
        keyset = p.decode_keyset(get("after") or get("before") or "", sort, backwards=backwards)
    property_values = {
        k: v for k, v in parameters.items() if k in queryables and k not in ITEMS_PARAMETERS
    }
    spatial = [k for k in property_values if queryables[k].type == "geometry"]
    if spatial:
        raise InvalidParameter(
            f"query parameter {spatial[0]!r} names the geometry, which takes no value here; "
            "filter it with bbox, within or a CQL2 filter (S_INTERSECTS)"
        )
    equalities, prefixes = split_prefix_parameters(property_values, queryables)
    condition = request_condition(
        layer,
        queryables,
        equalities,
        get("filter"),
        get("filter-lang"),
        settings.served_crs.filter_crs(get("filter-crs"), layer),
    )
    return ItemsQuery(
        limit=p.parse_limit(
            get("limit"), default=settings.default_limit, maximum=settings.max_limit
        ),
        output_crs=served.parse(get("crs"), "crs", layer),
        offset=p.parse_offset(get("offset")),
        keyset=keyset,
        bbox=p.parse_bbox(get("bbox"), served.parse(get("bbox-crs"), "bbox-crs", layer)),
        time=p.parse_datetime(get("datetime")),
        text=p.parse_q(get("q")),
        within=admin_area(get("within"), settings, catalog),
        prefixes=tuple(prefixes),
        condition=condition,
        sort=sort,
        properties=p.parse_properties(get("properties"), layer),
        skip_geometry=p.parse_boolean(get("skipGeometry"), "skipGeometry"),
        clip=clip,
    )


def feature_query(layer: Layer, parameters: Mapping[str, str], served: ServedCrs) -> ItemsQuery:
    p.reject_nul(parameters)
    unknown = [k for k in parameters if k not in FEATURE_PARAMETERS]
    if unknown:
        raise InvalidParameter(
            f"unknown query parameter(s) {', '.join(map(repr, unknown))} for a single feature; "
            f"use {', '.join(sorted(FEATURE_PARAMETERS))}"
        )
    return ItemsQuery(
        limit=1,
        output_crs=served.parse(parameters.get("crs"), "crs", layer),
        properties=p.parse_properties(parameters.get("properties"), layer),
        skip_geometry=p.parse_boolean(parameters.get("skipGeometry"), "skipGeometry"),
    )


def admin_area(code: str | None, settings: ServiceSettings, catalog: Catalog) -> AdminArea | None:
    """``within=440106``: the county (or city ``xxxx00``, province ``xx0000``) layer's table."""
    if code is None:
        return None
    adcode = p.parse_adcode(code)
    level = "province" if adcode.endswith("0000") else "city" if adcode.endswith("00") else "county"
    layer_id = settings.admin.for_level(level)
    layer = catalog.layers.get(layer_id)
    if layer is None or layer.field("adcode") is None:
        raise InvalidParameter(f"within: the administrative layer '{layer_id}' is not published")
    return AdminArea(layer.table_name, adcode)
