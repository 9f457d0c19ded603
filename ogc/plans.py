"""Plans per catalog snapshot: what every request for one layer version shares.

A ``Snapshot`` pairs a ``Catalog`` with the plans of its layers, built when the catalog
loads (``Snapshot.of``, by the catalog store's first subscriber in ``ogc/services/``) and
replaced whole, never mutated — the shape of morecantile's ``defaults.py`` registry. A
request that reads ``AppState.snapshot`` once gets a catalog and plans that agree whatever
reload happens meanwhile, and a new layer version simply is a new plan in a new snapshot.
A layer that did not change between snapshots keeps its plan (nothing recomposed), so a
reload after one publish composes one layer's SQL.

A caller below the internal level sees a view of a layer without its internal fields
(``layers.access.views``, handed out by the gate). Each field set a layer is seen with has
its own plan — a *variant*, built from the view on first use and kept in a small bounded
cache of the layer's plan — so its queryables, feature SQL and tile SQL never name a hidden
field, and there is still one query builder.

Area-limited callers (``Caller.areas``) need the union of their areas' geometries; it is
read from the administrative layers once per snapshot and set of areas (``Snapshot.areas``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from layers.access.areas import read_area_union
from layers.catalog import Catalog, Layer
from layers.features.plan import FeaturePlan
from layers.features.query import AreaClip
from layers.lru import BoundedCache
from layers.platform import AdminLayers
from tiles.plan import TilePlan

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

VIEWS = 8  # field sets one layer version is seen with (in practice: all, and the public's)
AREA_SETS = 256  # area unions per snapshot (one per distinct Caller.areas)


@dataclass(frozen=True, eq=False)
class LayerPlan:
    """Everything compiled once for one layer version, one field per concern."""

    layer: Layer
    features: FeaturePlan
    tiles: TilePlan
    views: BoundedCache[tuple[str, ...], LayerPlan] = field(
        default_factory=lambda: BoundedCache(VIEWS)
    )

    @classmethod
    def of(cls, layer: Layer) -> LayerPlan:
        return cls(layer=layer, features=FeaturePlan.of(layer), tiles=TilePlan.of(layer))

    def for_layer(self, layer: Layer) -> LayerPlan:
        """This plan for an equal layer of a newer snapshot (the same version, unchanged;
        the views' plans are made again on first use, from the new snapshot's layer)."""
        return LayerPlan(layer=layer, features=self.features, tiles=self.tiles.for_layer(layer))

    def for_view(self, view: Layer) -> LayerPlan | None:
        """The variant for ``view``, a field-limited view of this plan's layer (None when
        ``view`` is no such view)."""
        same_version = view.id == self.layer.id and view.version == self.layer.version
        if not same_version or len(view.fields) >= len(self.layer.fields):
            return None  # a whole layer must be this snapshot's own object
        variant = self.views.get_or_build(view.field_names, lambda: LayerPlan.of(view))
        return variant if variant.layer == view else None


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One catalog snapshot and the plans of all its layers."""

    catalog: Catalog
    layers: Mapping[str, LayerPlan]
    areas: BoundedCache[tuple[str, ...], AreaClip] = field(
        default_factory=lambda: BoundedCache(AREA_SETS)
    )

    @classmethod
    def of(cls, catalog: Catalog, previous: Snapshot | None = None) -> Snapshot:
        kept = previous.layers if previous is not None else {}
        plans = {layer.id: _plan(layer, kept.get(layer.id)) for layer in catalog}
        return cls(catalog, MappingProxyType(plans))

    def plan(self, layer: Layer) -> LayerPlan:
        """The plan of ``layer``, which must be this snapshot's own (from ``catalog``) or a
        caller's view of one (``ogc.gate.visible``)."""
        found = self.layers.get(layer.id)
        if found is not None and found.layer is layer:
            return found
        variant = found.for_view(layer) if found is not None else None
        if variant is None:
            raise ValueError(f"layer {layer.id!r} is not from this catalog snapshot")
        return variant

    async def area_clip(
        self, pool: AsyncConnectionPool, admin: AdminLayers, areas: tuple[str, ...]
    ) -> AreaClip:
        """The union of ``areas`` (canonical adcode prefixes) from this snapshot's
        administrative layers: read on first use, then kept with the snapshot."""
        found = self.areas.get(areas)
        if found is None:
            async with pool.connection() as conn:
                geometry = await read_area_union(conn, self.catalog, admin, areas)
            found = self.areas.put(areas, AreaClip(areas, geometry))
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
