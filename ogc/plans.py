"""Plans per catalog snapshot: what every request for one layer version shares.

A ``Snapshot`` pairs a ``Catalog`` with the plans of its layers, built when the catalog
loads (``Snapshot.of``, by the catalog store's first subscriber in ``ogc/services.py``) and
replaced whole, never mutated — the shape of morecantile's ``defaults.py`` registry. A
request that reads ``AppState.snapshot`` once gets a catalog and plans that agree whatever
reload happens meanwhile, and a new layer version simply is a new plan in a new snapshot.
A layer that did not change between snapshots keeps its plan (nothing recomposed), so a
reload after one publish composes one layer's SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from layers.catalog import Catalog, Layer
from layers.features.plan import FeaturePlan
from tiles.plan import TilePlan


@dataclass(frozen=True, eq=False)
class LayerPlan:
    """Everything compiled once for one layer version, one field per concern."""

    layer: Layer
    features: FeaturePlan
    tiles: TilePlan

    @classmethod
    def of(cls, layer: Layer) -> LayerPlan:
        return cls(layer=layer, features=FeaturePlan.of(layer), tiles=TilePlan.of(layer))

    def for_layer(self, layer: Layer) -> LayerPlan:
        """This plan for an equal layer of a newer snapshot (the same version, unchanged)."""
        return LayerPlan(layer=layer, features=self.features, tiles=self.tiles.for_layer(layer))


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One catalog snapshot and the plans of all its layers."""

    catalog: Catalog
    layers: Mapping[str, LayerPlan]

    @classmethod
    def of(cls, catalog: Catalog, previous: Snapshot | None = None) -> Snapshot:
        kept = previous.layers if previous is not None else {}
        plans = {layer.id: _plan(layer, kept.get(layer.id)) for layer in catalog}
        return cls(catalog, MappingProxyType(plans))

    def plan(self, layer: Layer) -> LayerPlan:
        """The plan of ``layer``, which must be this snapshot's own (from ``catalog``)."""
        found = self.layers.get(layer.id)
        if found is None or found.layer is not layer:
            raise ValueError(f"layer {layer.id!r} is not from this catalog snapshot")
        return found

    def tiles(self, layer: Layer) -> TilePlan:
        return self.plan(layer).tiles

    @property
    def planned(self) -> int:
        """How many layers have a plan."""
        return len(self.layers)


def _plan(layer: Layer, previous: LayerPlan | None) -> LayerPlan:
    if previous is not None and previous.layer == layer:
        return previous.for_layer(layer)
    return LayerPlan.of(layer)
