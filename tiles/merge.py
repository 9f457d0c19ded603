"""Overview levels of polygon layers: small polygons merged per cell instead of dropped.

Thinning keeps one small feature per 4×4-pixel cell: right for points (a symbol per cell
shows where they are), wrong for polygons that cover an area — a full-coverage parcel
layer drawn from one parcel per cell fills a fraction of what the data fills. So each
overview level of a polygon layer keeps the features at least a cell big as they are and
replaces the smaller ones of each cell by the union of the level's pixels their bboxes
touch (``sql/overview_polygons.sql``): the tile fills the pixels the data touches, no
more than a pixel beyond, and holds at most one merged feature per cell. A merged feature
carries ``MERGED`` (how many it stands for) and the attributes of its largest member
(by area: the class a categorical style colours it with); it has no feature id.

Coordinates come from the stored lon/lat with the grid's formulas (``mvt.grid_bbox``), so
no row is transformed to be measured; only the kept big ones are.
"""

from __future__ import annotations

from psycopg import sql

from layers.catalog import Layer
from tiles import mvt

MERGED = "_merged"  # never a field name: ingest's names start with a letter


def is_polygon_layer(layer: Layer) -> bool:
    return "POLYGON" in (layer.geometry_type or "").upper()


def pixel_box(family: mvt.Family) -> dict[str, sql.Composable]:
    """The level's pixels ``t.geom``'s bbox touches, as integer column/row bounds from the
    grid origin (%(xmin)s, %(ymax)s); at least one pixel each way."""
    x0, x1, y0, y1 = mvt.grid_bbox(family)
    ix0 = sql.SQL("floor(({} - %(xmin)s) / %(pixel)s)").format(x0)
    iy0 = sql.SQL("floor((%(ymax)s - {}) / %(pixel)s)").format(y1)
    ix1 = sql.SQL("greatest(ceil(({} - %(xmin)s) / %(pixel)s), {} + 1)").format(x1, ix0)
    iy1 = sql.SQL("greatest(ceil((%(ymax)s - {}) / %(pixel)s), {} + 1)").format(y0, iy0)
    return {"ix0": ix0, "iy0": iy0, "ix1": ix1, "iy1": iy1}


def level_parts(layer: Layer, family: mvt.Family) -> dict[str, sql.Composable]:
    """What ``sql/overview_polygons.sql`` needs beyond an overview level's common parts."""
    return {
        "cell_key": mvt.cell_key(layer, family),
        "small": mvt.is_small(family),
        "grid_srid": sql.Literal(family.srid),
        **pixel_box(family),
    }
