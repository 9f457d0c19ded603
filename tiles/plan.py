"""A layer version's tile plan: everything tiles need from the catalog, built once.

``TilePlan.of(layer)`` is called when a catalog snapshot loads (``ogc/plans.py``; the
seeding command calls it too). It composes the tile SQL of every grid family and output for
the default attributes — on the version table and, where the layer gets overviews, on its
overview tables — and holds the effective style (with its version) and the WMTS
description. That one is made on first use: it is ~10 ms of tile-range arithmetic per layer
that only capabilities and WMTS requests need, and it too lives and dies with the plan.

A plan is frozen: a new version, a restyle or any other catalog change of the layer gets a
new plan with the next snapshot. Attribute subsets (``?properties=``), which cannot be
enumerated, are composed on first use into a small bounded cache the plan owns, so they go
with it.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Generic, TypeVar

from layers.catalog import Layer
from layers.errors import InvalidParameter
from tiles import merge, mvt, overview, wmts
from tiles.styles import Style, style_of

K = TypeVar("K")
V = TypeVar("V")
VARIANTS_LIMIT = 64  # attribute subsets remembered per layer version
FAMILIES = (mvt.MERCATOR, mvt.GEOGRAPHIC)


class BoundedCache(Generic[K, V]):
    """The ``limit`` most recently used values (LRU); the plan that owns it drops it whole."""

    def __init__(self, limit: int = VARIANTS_LIMIT) -> None:
        self.limit = limit
        self._values: OrderedDict[K, V] = OrderedDict()

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        value = self._values.get(key)
        if value is None:
            value = self._values[key] = make()
            if len(self._values) > self.limit:
                self._values.popitem(last=False)
        else:
            self._values.move_to_end(key)
        return value

    def __len__(self) -> int:
        return len(self._values)


class Once(Generic[V]):
    """A value made on first use and then kept, by the plan that owns it."""

    def __init__(self, make: Callable[[], V]) -> None:
        self._make: Callable[[], V] | None = make
        self._value: V | None = None

    def get(self) -> V:
        if self._make is not None:
            self._value, self._make = self._make(), None
        assert self._value is not None
        return self._value


@dataclass(frozen=True)
class StatementKey:
    """What a composed tile statement depends on besides its layer version."""

    family: str
    output: mvt.Output
    properties: tuple[str, ...]
    overview_table: str | None = None
    clipped: bool = False  # for an area-limited caller (an %(area)s parameter)


@dataclass(frozen=True, eq=False)
class TilePlan:
    """The tile plan of one layer version (see the module docstring)."""

    layer: Layer
    statements: Mapping[StatementKey, str]
    style_or_problem: Style | str  # a message when the catalog's style is invalid
    wmts_description: Once[wmts.WmtsLayer]
    variants: BoundedCache[StatementKey, str] = field(default_factory=BoundedCache)

    @classmethod
    def of(cls, layer: Layer) -> TilePlan:
        try:
            style: Style | str = style_of(layer)
        except InvalidParameter as exc:  # map tiles answer 400 with it; vector tiles work
            style = exc.message
        keys = default_keys(layer, style) if layer.kind == "vector" else []
        statements = {key: compose(layer, key) for key in keys}
        return cls(layer, statements, style, Once(partial(wmts.describe, layer)))

    def for_layer(self, layer: Layer) -> TilePlan:
        """This plan for an equal ``Layer`` of a newer snapshot (nothing recomposed; the
        variants and the WMTS description are shared)."""
        return dataclasses.replace(self, layer=layer)

    @property
    def wmts(self) -> wmts.WmtsLayer:
        return self.wmts_description.get()

    @property
    def style(self) -> Style:
        if isinstance(self.style_or_problem, str):
            raise InvalidParameter(self.style_or_problem)
        return self.style_or_problem

    @property
    def label(self) -> tuple[str, ...]:
        """The attribute a map tile reads: the style's label field, if any."""
        return label_of(self.style)

    def statement(
        self,
        family: mvt.Family,
        output: mvt.Output,
        properties: tuple[str, ...],
        overview_table: str | None = None,
        *,
        clipped: bool = False,
    ) -> str:
        """The tile statement, composed when the plan was built (or, for an attribute
        subset or an area clip, on first use)."""
        key = StatementKey(family.name, output, properties, overview_table, clipped)
        found = self.statements.get(key)
        if found is not None:
            return found
        return self.variants.get_or_make(key, lambda: compose(self.layer, key))


def label_of(style: Style) -> tuple[str, ...]:
    return (style.label_field,) if style.label_field else ()


def default_keys(layer: Layer, style: Style | str) -> list[StatementKey]:
    """The statements every vector layer version needs: each family's vector tiles with
    all attributes and (with a valid style) its map tiles, on the version table and on the
    overview table where the layer gets one."""
    outputs: list[tuple[mvt.Output, tuple[str, ...]]] = [("mvt", layer.field_names)]
    if isinstance(style, Style):
        outputs.append(("wkb", label_of(style)))
    keys = []
    for family in FAMILIES:
        tables: list[str | None] = [None]
        if overview.wants_overview(layer, family, 0):
            tables.append(overview.overview_table_name(layer, family))
        keys += [StatementKey(family.name, o, p, t) for o, p in outputs for t in tables]
    return keys


def compose(layer: Layer, key: StatementKey) -> str:
    family = mvt.MERCATOR if key.family == mvt.MERCATOR.name else mvt.GEOGRAPHIC
    merged = None
    if key.overview_table and merge.is_polygon_layer(layer):
        merged = merge.MERGED  # how many features a merged one stands for
    return mvt.compose_tile_sql(
        layer, family, key.output, key.properties, key.overview_table, key.clipped, merged
    )
