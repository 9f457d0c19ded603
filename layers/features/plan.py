"""A layer version's feature plan: what every features request of it shares, built once.

``FeaturePlan.of(layer)`` derives the queryables and renders the single-feature
statement of the default shape (CRS84, every field, the geometry) when the plan is
built. Shapes that cannot be enumerated — a properties subset, another CRS, a sort, a
limit, a drawn map's simplification — are rendered on first use into bounded caches the
plan owns, and so are the counts of filtered selections. A plan belongs to one layer
version: a new version gets a new plan (its holder, ``ogc.plans``, is replaced with the
catalog snapshot), so no cache needs the version in its keys or an eviction rule of its
own beyond its bound.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime
from types import MappingProxyType

from psycopg import sql

from layers.catalog import Layer
from layers.cql2 import Queryable
from layers.crs import DEFAULT as DEFAULT_CRS
from layers.features.filters import layer_queryables
from layers.features.page import Frame, feature_sql, page_frame, page_sql
from layers.features.query import ItemsQuery
from layers.features.render import Binder, feature_json
from layers.lru import BoundedCache

FEATURE_SHAPES = 64  # feature expressions per plan: CRS × properties × geometry × map detail
PAGE_FRAMES = 128  # page statements per plan: shape × kind × sort × direction × limit
COUNTS = 1024  # numberMatched of filtered selections per plan
DEFAULT_SHAPE = ItemsQuery(limit=1, output_crs=DEFAULT_CRS)  # what a plain /items/{id} asks

Matched = dict[str, int]  # {"numberMatched": n} or {"onemap:numberMatchedEstimate": n}


@dataclass(frozen=True, eq=False)
class FeaturePlan:
    """The feature SQL and queryables of one layer version, and its bounded caches."""

    layer: Layer
    queryables: Mapping[str, Queryable]
    single_feature: sql.Composed  # the default shape by fid: one ``%s`` placeholder
    single_feature_text: bytes | None  # the same as text; None when a name holds a '%'
    last_modified: str  # the version's time as an HTTP date (what Last-Modified says)
    shapes: BoundedCache[Hashable, sql.Composable]
    frames: BoundedCache[Hashable, Frame]
    counts: BoundedCache[Hashable, Matched]

    @classmethod
    def of(cls, layer: Layer) -> FeaturePlan:
        shapes: BoundedCache[Hashable, sql.Composable] = BoundedCache(FEATURE_SHAPES)
        item = shapes.put(shape_key(DEFAULT_SHAPE), feature_json(layer, DEFAULT_SHAPE))
        statement = feature_sql(layer, item)
        text = statement.as_string(None)
        return cls(
            layer=layer,
            queryables=MappingProxyType(layer_queryables(layer)),
            single_feature=statement,
            # Only the placeholder: the text is sent as is, psycopg converts it once.
            single_feature_text=text.encode() if text.count("%") == 1 else None,
            last_modified=format_datetime(layer.version_created_at.astimezone(UTC), usegmt=True),
            shapes=shapes,
            frames=BoundedCache(PAGE_FRAMES),
            counts=BoundedCache(COUNTS),
        )

    def feature_json(self, query: ItemsQuery) -> sql.Composable:
        """One row's GeoJSON Feature text for the query's output shape."""
        return self.shapes.get_or_build(shape_key(query), lambda: feature_json(self.layer, query))

    def feature_sql(self, query: ItemsQuery) -> sql.Composed:
        """One feature by fid in the query's output shape (a single placeholder; a second
        one, the area, for an area-limited caller's query)."""
        if query.clip is not None:
            return feature_sql(self.layer, self.feature_json(query), clipped=True)
        if shape_key(query) == shape_key(DEFAULT_SHAPE):
            return self.single_feature
        return feature_sql(self.layer, self.feature_json(query))

    def geojson_page_sql(self, query: ItemsQuery, binder: Binder) -> sql.Composed:
        """A page of GeoJSON Features joined by commas (see ``layers.features.page``)."""
        return self._page_sql(query, binder, seq=False)

    def geojson_seq_page_sql(self, query: ItemsQuery, binder: Binder) -> sql.Composed:
        """RFC 8142 text sequence: each feature after a record separator, ending in a newline."""
        return self._page_sql(query, binder, seq=True)

    def _page_sql(self, query: ItemsQuery, binder: Binder, *, seq: bool) -> sql.Composed:
        backwards = query.keyset.backwards if query.keyset else False
        key = (seq, shape_key(query), query.sort, backwards, query.limit)
        frame = self.frames.get_or_build(key, lambda: self._frame(query, seq, backwards))
        return page_sql(self.layer, query, binder, frame)

    def _frame(self, query: ItemsQuery, seq: bool, backwards: bool) -> Frame:
        item = self.feature_json(query)
        if seq:
            item = sql.SQL("chr(30) || {} || chr(10)").format(item)
        return page_frame(self.layer, query, item, "" if seq else ",", backwards=backwards)


def shape_key(query: ItemsQuery) -> Hashable:
    """What decides a feature's text: CRS, properties, geometry or not, map simplification."""
    return (query.output_crs.uri, query.properties, query.skip_geometry, query.map_detail)
