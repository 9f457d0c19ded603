"""Plans per catalog snapshot: what every request for one layer version shares.

A ``Snapshot`` pairs a ``Catalog`` with the plans of its layers. It is built by the
catalog store's first subscriber (``ogc/services.py``) for each new catalog and replaced
whole, never mutated — the shape of morecantile's ``defaults.py`` registry — so a request
that reads ``AppState.snapshot`` once gets a catalog and plans that agree whatever reload
happens meanwhile, and a new layer version simply is a new plan in a new snapshot.

A layer's plan is built the first time a request needs it, not when the catalog loads:
the store's subscribers stay quick with hundreds of layers, and the plan is a pure
function of the snapshot's own (frozen) layer, so building it later changes nothing a
reader could see. ``LayerPlan`` holds one plan per concern (features; tiles to come).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from layers.catalog import Catalog, Layer
from layers.features.plan import FeaturePlan


@dataclass(frozen=True, eq=False)
class LayerPlan:
    """Everything compiled once for one layer version."""

    layer: Layer
    features: FeaturePlan

    @classmethod
    def of(cls, layer: Layer) -> LayerPlan:
        return cls(layer=layer, features=FeaturePlan.of(layer))


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One catalog snapshot and the plans of its layers (built on first use, then kept)."""

    catalog: Catalog
    _plans: dict[str, LayerPlan] = field(default_factory=dict, repr=False)

    def plan(self, layer: Layer) -> LayerPlan:
        """The plan of ``layer``, which must be this snapshot's own (from ``catalog``)."""
        found = self._plans.get(layer.id)
        if found is None:
            if self.catalog.layers.get(layer.id) is not layer:
                raise ValueError(f"layer {layer.id!r} is not from this catalog snapshot")
            # setdefault: a thread (the OpenAPI rebuild) racing us keeps one plan per layer
            found = self._plans.setdefault(layer.id, LayerPlan.of(layer))
        elif found.layer is not layer:
            raise ValueError(f"layer {layer.id!r} is not from this catalog snapshot")
        return found

    @property
    def planned(self) -> int:
        """How many layers have a plan built so far."""
        return len(self._plans)
