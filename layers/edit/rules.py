"""The editing rules a layer's owner sets (ADR 0013, decisions 11-13), kept in
``onemap.layers.edit_rules`` and set with ``PUT /collections/{id}/editing``.

- ``serviceArea``: where edited geometries may lie, ``[west, south, east, north]`` in
  degrees; absent, the platform's (Guangdong). A department publishing data of another
  area (a partner province, a test dataset) sets its own.
- ``idField``: a field whose values are the features' ids (the source data's identifiers,
  e.g. ``B.1`` or a land parcel number) instead of the platform's integer ids.
- ``required``: fields every feature must have (a create, replace or update leaving one
  empty is refused, 422): the receivables schema publishes them.
- ``additionalProperties``: true lets an edit bring a property that is not yet a field: it
  becomes one (text, integer, number or boolean, from its value). Default false: a layer
  follows its department's data standard, and such a property is refused (422).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from layers.errors import InvalidParameter

Bounds = tuple[float, float, float, float]
ID_FIELD_TYPES = ("string", "integer")


@dataclass(frozen=True)
class EditRules:
    service_area: Bounds | None = None
    id_field: str | None = None
    required: tuple[str, ...] = field(default_factory=tuple)
    additional_properties: bool = False

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> EditRules:
        """As stored (already checked when set)."""
        value = value or {}
        area = value.get("serviceArea")
        return cls(
            service_area=(area[0], area[1], area[2], area[3]) if area else None,
            id_field=value.get("idField"),
            required=tuple(value.get("required") or ()),
            additional_properties=bool(value.get("additionalProperties", False)),
        )

    def to_json(self) -> dict[str, Any]:
        stored: dict[str, Any] = {}
        if self.service_area is not None:
            stored["serviceArea"] = list(self.service_area)
        if self.id_field is not None:
            stored["idField"] = self.id_field
        if self.required:
            stored["required"] = list(self.required)
        if self.additional_properties:
            stored["additionalProperties"] = True
        return stored


def rules_from_request(body: Mapping[str, Any], fields: Mapping[str, str]) -> EditRules:
    """The rules of a ``PUT …/editing`` body; ``fields``: the layer's field names and types.
    Every mistake is a 400 naming the member."""
    id_field = body.get("idField")
    if id_field is not None and (
        not isinstance(id_field, str) or fields.get(id_field) not in ID_FIELD_TYPES
    ):
        choices = ", ".join(n for n, t in fields.items() if t in ID_FIELD_TYPES) or "none"
        raise InvalidParameter(
            f"'idField' must name a text or integer field of the layer; its fields: {choices}"
        )
    additional = body.get("additionalProperties", False)
    if not isinstance(additional, bool):
        raise InvalidParameter("'additionalProperties' must be true or false")
    return EditRules(_area(body.get("serviceArea")), id_field, _required(body, fields), additional)


def _area(value: Any) -> Bounds | None:
    if value is None:
        return None
    numbers = value if isinstance(value, Sequence) and not isinstance(value, str) else ()
    ok = len(numbers) == 4 and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in numbers
    )
    if not ok or not (
        -180 <= numbers[0] < numbers[2] <= 180 and -90 <= numbers[1] < numbers[3] <= 90
    ):
        raise InvalidParameter(
            "'serviceArea' must be [west, south, east, north] in degrees, e.g. "
            "[109.6, 20.1, 117.4, 25.6] for Guangdong"
        )
    return (float(numbers[0]), float(numbers[1]), float(numbers[2]), float(numbers[3]))


def _required(body: Mapping[str, Any], fields: Mapping[str, str]) -> tuple[str, ...]:
    value = body.get("required") or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameter("'required' must be a list of field names")
    unknown = [name for name in value if name not in fields]
    if unknown:
        raise InvalidParameter(
            f"'required' names '{unknown[0][:60]}', not a field; fields: {', '.join(fields)}"
        )
    return tuple(dict.fromkeys(value))
