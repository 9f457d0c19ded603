"""Every operation of the OpenAPI document (``/api``) as a request with valid values, into
which the sweep puts one hostile value at a time."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A valid value per parameter name: a sample layer, a feature, a tile over Guangdong.
VALID: dict[str, str] = {
    "collectionId": "gd-counties",
    "featureId": "1",  # the sweep's fixture puts a real one (``valid_values``)
    "version": "1",
    "tileMatrixSetId": "WebMercatorQuad",
    "tileMatrix": "6",
    "tileRow": "27",
    "tileCol": "52",
    "layer": "gd-counties",
    "style": "default",
    "TileMatrixSet": "WebMercatorQuad",
    "TileMatrix": "6",
    "TileRow": "27",
    "TileCol": "52",
    "I": "10",
    "J": "10",
    "processId": "buffer-zones",
    "jobId": str(uuid.UUID(int=7)),
    "outputId": "zones",
    "keyId": str(uuid.UUID(int=8)),
    "subscriptionId": str(uuid.UUID(int=9)),
}
# Parameters that take free text: a hostile value may be a 200 (matching nothing); and
# ``lang``, which falls back to the default language for one not served (as Accept-Language).
FREE_TEXT = frozenset({"q", "actor", "operation", "department", "layer", "lang"})
WRITE_BODY = {"type": "Feature", "geometry": None, "properties": {}}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"

    def url(
        self, hostile: str | None = None, value: str = "", valid: Mapping[str, str] = VALID
    ) -> str:
        """The operation's URL (already encoded), ``hostile`` given ``value``."""
        path = self.template
        for name in self.path_params:
            path = path.replace("{" + name + "}", value if name == hostile else valid[name])
        if hostile in self.query_params:
            path += f"?{hostile}={value}"
        return path

    def body(self) -> Any:
        return WRITE_BODY if self.method in ("POST", "PUT", "PATCH") else None


def operations(api: dict[str, Any]) -> list[Operation]:
    """The document's operations on templates (a collection's own listed paths — the same
    templates filled in — are left out)."""
    found = []
    for template, item in api["paths"].items():
        if "{" not in template and template.startswith("/collections/"):
            continue
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            params = [*shared, *operation.get("parameters", [])]
            path = tuple(p["name"] for p in params if p.get("in") == "path")
            query = tuple(p["name"] for p in params if p.get("in") == "query" and p["name"] != "tk")
            found.append(Operation(method.upper(), template, path, query))
    return found
