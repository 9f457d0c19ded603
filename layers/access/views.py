"""A layer as a caller below the internal level sees it: the same version without the
fields its metadata marks internal.

The view is an ordinary ``Layer`` whose ``fields`` lack the hidden ones, so everything built
from a layer — queryables, ``properties=``/``sortby`` checks, feature and tile SQL, TileJSON,
HTML, GetFeatureInfo, analyses — simply does not know them. A hidden time field is not the
layer's time any more (``datetime=`` would filter by it), a style's hidden label is dropped,
and the metadata no longer names the internal fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from layers.catalog import Layer

INTERNAL_FIELDS = "internal_fields"  # the metadata key naming a layer's internal fields


def without_fields(layer: Layer, hidden: frozenset[str]) -> Layer:
    """``layer`` with the ``hidden`` fields taken out of every place that names them."""
    start = layer.temporal_field if layer.temporal_field not in hidden else None
    end = layer.temporal_end_field if layer.temporal_end_field not in hidden else None
    return dataclasses.replace(
        layer,
        fields=tuple(f for f in layer.fields if f.name not in hidden),
        temporal_field=start,
        temporal_end_field=end if start is not None else None,
        metadata=_metadata_without(layer.metadata, hidden),
    )


def _metadata_without(metadata: Mapping[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    kept = {key: value for key, value in metadata.items() if key != INTERNAL_FIELDS}
    style = kept.get("style")
    if isinstance(style, Mapping) and style.get("label_field") in hidden:
        kept["style"] = {key: value for key, value in style.items() if key != "label_field"}
    return kept
