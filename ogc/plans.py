"""Plans per catalog snapshot: what each layer version's requests need, built when it loads.

``Plans.of(catalog, previous)`` is built by a ``CatalogStore.on_change`` subscriber
(``ogc/services.py``) and replaces the previous holder on ``AppState.plans``; it is never
mutated. A layer that did not change between snapshots keeps its plan (nothing recomposed),
so a reload after one publish builds one layer's plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from layers.catalog import Catalog, Layer
from tiles.plan import TilePlan


@dataclass(frozen=True)
class LayerPlan:
    """Everything planned for one layer version."""

    tiles: TilePlan

    @classmethod
    def of(cls, layer: Layer) -> LayerPlan:
        return cls(tiles=TilePlan.of(layer))

    def for_layer(self, layer: Layer) -> LayerPlan:
        """This plan for an equal layer of a newer snapshot."""
        return LayerPlan(tiles=self.tiles.for_layer(layer))


@dataclass(frozen=True)
class Plans:
    """The plans of one catalog snapshot, by layer id."""

    catalog: Catalog
    layers: Mapping[str, LayerPlan]

    @classmethod
    def of(cls, catalog: Catalog, previous: Plans | None = None) -> Plans:
        kept = previous.layers if previous is not None else {}
        return cls(catalog, {layer.id: _plan(layer, kept.get(layer.id)) for layer in catalog})

    def for_layer(self, layer: Layer) -> LayerPlan:
        """The plan of exactly this layer object; one built on the spot in the rare case a
        request took its layer from an older or newer snapshot than this holder's."""
        plan = self.layers.get(layer.id)
        if plan is not None and plan.tiles.layer is layer:
            return plan
        return LayerPlan.of(layer)

    def tiles(self, layer: Layer) -> TilePlan:
        return self.for_layer(layer).tiles


def _plan(layer: Layer, previous: LayerPlan | None) -> LayerPlan:
    if previous is not None and previous.tiles.layer == layer:
        return previous.for_layer(layer)
    return LayerPlan.of(layer)
