"""Which field of a layer place-name search reads.

``metadata.search_field`` decides when set: the name of a text field, or ``false`` (the
layer is not searchable). Unset, the layer's name field is searched: a text field named
``name`` (or that arrived as 名称/名字/地名/NAME/MC), else the first of the fields ``q=``
already treats as names (``layers.features.where.name_fields``). A layer with none is not
searchable. The field a caller may not read (an internal field below the internal level)
is never searched for them: the gate's view of the layer lacks it.
"""

from __future__ import annotations

from layers.catalog import FieldInfo, Layer
from layers.features.where import name_fields
from layers.platform import AdminLayers

SEARCH_FIELD = "search_field"  # the metadata key
PREFERRED = ("name", "名称", "名字", "地名", "mc")  # compared case-insensitively
ADCODE_FIELD = "adcode"


def search_field(layer: Layer) -> FieldInfo | None:
    """The text field searched in ``layer`` (as the caller sees it), or None."""
    if layer.kind != "vector":
        return None
    chosen = layer.metadata.get(SEARCH_FIELD)
    if chosen is False:
        return None
    if isinstance(chosen, str):
        found = layer.field(chosen)
        return found if found is not None and found.type == "string" else None
    return _default_field(layer)


def _default_field(layer: Layer) -> FieldInfo | None:
    text = [f for f in layer.fields if f.type == "string"]
    for wanted in PREFERRED:
        for f in text:
            if wanted in (f.name.lower(), (f.source_name or "").lower()):
                return f
    names = name_fields(layer)
    return layer.field(names[0]) if names else None


def admin_level(layer: Layer, admin: AdminLayers) -> str | None:
    """``province``, ``city`` or ``county`` for the layers of ``ONEMAP_ADMIN_LAYERS``."""
    for level in ("province", "city", "county"):
        if admin.for_level(level) == layer.id:
            return level
    return None


def adcode_field(layer: Layer, admin: AdminLayers) -> str | None:
    """The code field of an administrative layer the caller may read (else None)."""
    if admin_level(layer, admin) is None or layer.field(ADCODE_FIELD) is None:
        return None
    return ADCODE_FIELD
