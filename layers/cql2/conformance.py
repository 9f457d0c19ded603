"""Conformance classes this package implements (OGC API - Features - Part 3
and OGC 21-065 CQL2 1.0), for the API's ``/conformance`` document.
"""

from __future__ import annotations

_FEATURES_3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"

_FEATURES_3_CLASSES = (
    "queryables",
    "queryables-query-parameters",
    "filter",
    "features-filter",
)
# Not listed: accent-insensitive-comparison (ACCENTI), array-functions (A_*) and
# functions (custom functions); filters using them get a 400.
_CQL2_CLASSES = (
    "basic-cql2",
    "advanced-comparison-operators",
    "case-insensitive-comparison",
    "basic-spatial-functions",
    "basic-spatial-functions-plus",
    "spatial-functions",
    "temporal-functions",
    "property-property",
    "arithmetic",
    "cql2-text",
    "cql2-json",
)


def conformance_classes() -> list[str]:
    """The Part 3 and CQL2 conformance class URIs, in the order the standards list them."""
    return [_FEATURES_3 + name for name in _FEATURES_3_CLASSES] + [
        _CQL2 + name for name in _CQL2_CLASSES
    ]
