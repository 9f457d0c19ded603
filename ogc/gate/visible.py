"""Which layers exist for a caller: the gate every path goes through.

A layer the caller may not see does not exist for them — the same not-found error as an
unknown id (404 on OGC API paths, "no such layer" for process inputs, absent from every
listing), never a 403 that would confirm it is there. The rule itself is
``layers.access.rules.may_read``; this module applies it to the catalog. ``cache_scope``
(the scope a response about a layer is cached under, e.g. a tile) comes from the rules too;
the fast layer asks ``may_read`` itself, as a miss there is a hand-over, not an error.

What the gate hands out is the caller's view of each layer (``caller_view``): without the
internal fields for a caller below the internal level, so no path downstream can name them.
The plans of such a view are the layer plan's variants (``ogc.plans``).
"""

from __future__ import annotations

from layers.access.caller import Caller
from layers.access.rules import area_limited, cache_scope, caller_view, is_restricted, may_read
from layers.catalog import Catalog, Layer, no_such_layer
from layers.errors import NotFound
from layers.slow_queries import about_layer


class HiddenLayer(NotFound):
    """A layer the caller may not see: answered exactly as an unknown id (the same 404 and
    message); the class only tells the audit (``ogc.gate.denials``) it was a denial."""


def visible_layer(catalog: Catalog, layer_id: str, caller: Caller) -> Layer:
    """The layer ``layer_id`` as ``caller`` sees it, if they may; else the unknown id's
    NotFound. The request's statements are about it from now on (slow-query log)."""
    about_layer(layer_id)
    layer = catalog.layers.get(layer_id)
    if layer is None:
        raise no_such_layer(layer_id)
    if not may_read(layer, caller):
        raise HiddenLayer(no_such_layer(layer_id).message)
    return caller_view(layer, caller)


def visible_layers(catalog: Catalog, caller: Caller) -> list[Layer]:
    """The layers of ``catalog`` that ``caller`` may see, as they see them, in catalog order."""
    return [caller_view(layer, caller) for layer in catalog if may_read(layer, caller)]


def visible_catalog(catalog: Catalog, caller: Caller) -> Catalog:
    """The catalog as ``caller`` sees it (what an analysis run for them may read)."""
    if caller.is_admin:
        return catalog
    layers = {layer.id: layer for layer in visible_layers(catalog, caller)}
    return Catalog(layers=layers, loaded_at=catalog.loaded_at)


def hidden_layer_ids(catalog: Catalog, caller: Caller) -> list[str]:
    """The ids of the layers ``caller`` may not see (what a job listing must not show)."""
    return [layer.id for layer in catalog if not may_read(layer, caller)]


__all__ = [
    "HiddenLayer",
    "area_limited",
    "cache_scope",
    "caller_view",
    "hidden_layer_ids",
    "is_restricted",
    "may_read",
    "visible_catalog",
    "visible_layer",
    "visible_layers",
]
