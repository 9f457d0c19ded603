"""Overview levels of polygon layers: small polygons merged per cell instead of dropped.

Thinning keeps one small feature per 4×4-pixel cell: right for points (a symbol per cell
shows where they are), wrong for polygons that cover an area — a parcel layer drawn from
one parcel per cell fills a fraction of what the data fills. So each overview level of a
polygon layer keeps the features at least a cell big as they are and replaces the smaller
ones of each cell by the level's pixels whose sample points (``SAMPLES``² per pixel) they
cover (``sql/overview_polygons.sql``): the pixels a multisampling renderer fills when it
draws the data itself, so the tile looks like the data, and still holds at most one merged
feature per cell. A merged feature carries ``MERGED`` (how many it stands for) and the
attributes of its largest member (by area: the class a categorical style colours it with);
it has no feature id.

A build transforms the layer's features once (``sql/overview_polygons_members.sql``, with
their grid bbox by the grid's formulas, ``mvt.grid_bbox``); every level reads them. A pixel
is tested with all its samples at once (a multipoint), and only the pixels a small
feature's bbox touches.
"""

from __future__ import annotations

from psycopg import sql

from layers.catalog import Layer
from tiles import mvt

MERGED = "_merged"  # never a field name: ingest's names start with a letter
SAMPLES = 4  # sample points per pixel and axis: 16 per pixel, as a 4× multisampling renderer


def is_polygon_layer(layer: Layer) -> bool:
    return "POLYGON" in (layer.geometry_type or "").upper()


def _pixel_samples() -> sql.Composable:
    """The sample points of pixel (0, 0) in pixel units, rows counted downwards."""
    offsets = [(k + 0.5) / SAMPLES for k in range(SAMPLES)]
    points = ", ".join(f"{u} {v}" for v in offsets for u in offsets)
    return sql.SQL("ST_GeomFromText({})").format(sql.Literal(f"MULTIPOINT({points})"))


def members_parts(family: mvt.Family) -> dict[str, sql.Composable]:
    """What ``sql/overview_polygons_members.sql`` needs beyond the table and grid geometry."""
    return dict(zip(("x0", "x1", "y0", "y1"), mvt.grid_bbox(family), strict=True))


def level_parts(family: mvt.Family) -> dict[str, sql.Composable]:
    """What ``sql/overview_polygons.sql`` needs beyond an overview level's common parts."""
    centre = mvt.cell_of(sql.SQL("((m.x0 + m.x1) / 2)"), sql.SQL("((m.y0 + m.y1) / 2)"))
    return {"cell": centre, "grid_srid": sql.Literal(family.srid), "samples": _pixel_samples()}
