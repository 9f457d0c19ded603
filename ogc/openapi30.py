"""The OpenAPI document as 3.0, the version OGC API – Features Part 1 names (``oas30``).

FastAPI writes OpenAPI 3.1. The only 3.1 constructs it emits for OneMap are optional
values (``anyOf`` with ``{"type": "null"}``) and binary uploads (``contentMediaType``);
they are rewritten to their 3.0 forms (``nullable``, ``format: binary``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

NULL = {"type": "null"}
OPENAPI_VERSION = "3.0.3"


def as_openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    converted = copy.deepcopy(document)
    converted["openapi"] = OPENAPI_VERSION
    _rewrite(converted)
    return converted


def _rewrite(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _rewrite(item)
        return
    if not isinstance(node, dict):
        return
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list) and NULL in node[key]:
            _make_nullable(node, key)
    if node.get("contentMediaType") == "application/octet-stream":
        node.pop("contentMediaType")
        node["format"] = "binary"
    for value in node.values():
        _rewrite(value)


def _make_nullable(node: dict[str, Any], key: str) -> None:
    rest = [schema for schema in node.pop(key) if schema != NULL]
    if len(rest) == 1 and "$ref" in rest[0]:
        node["allOf"] = rest  # a $ref cannot carry siblings in 3.0
    elif len(rest) == 1:
        node.update(rest[0])
    else:
        node[key] = rest
    node["nullable"] = True


def serve_openapi_30(app: FastAPI) -> None:
    """Make ``/api`` (``app.openapi``) answer the 3.0 document, built once."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    cache: dict[str, dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        if "doc" not in cache:
            cache["doc"] = as_openapi_30(generate())
        return cache["doc"]

    app.openapi = openapi  # type: ignore[method-assign]
