"""What a run will cost, estimated from its parsed inputs before any work starts.

An analysis may declare ``estimate(inputs, ctx) -> Cost``: the bytes its heavy part will
hold at its peak, counted from what the inputs say (grid cells × neighbours, raster cells,
the stored size of vector inputs) without reading features or pixels. The web layer
compares it with the run's memory bound (``ONEMAP_PROCESS_MAX_MEMORY_MB``) and refuses a
run that cannot fit with a 413 naming the input to shrink, before a job row exists; the
bound itself is enforced while the run works (``spatial.isolate``), so an estimate that is
too low fails only that run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import rasterio

from layers.errors import PayloadTooLarge
from layers.platform import DATA_SCHEMA
from spatial.context import Context
from spatial.inputs import LayerInput, RasterInput, raster_source, vector_layer
from spatial.network import load_sql
from spatial.terrain import metric_shape

MB = 2**20
FLOAT_BYTES = 8
# In memory a vector input (shapely geometries, a pandas frame of attributes) takes about
# this many times its stored size (heap + TOAST): WKB → GEOS objects roughly doubles it,
# object columns and the copies an overlay makes do the rest.
VECTOR_EXPANSION = 4


@dataclass(frozen=True)
class Cost:
    """The peak bytes of a run's heavy part, and which input drives it."""

    bytes: int
    input: str  # named in a refusal: the input to shrink
    detail: str  # how it was counted, e.g. "1,920,000 cells × 64 neighbours"
    hint: str = "narrow the inputs"

    def check(self, process_id: str, max_mb: int) -> None:
        """413 when the run cannot fit in ``max_mb`` MB (0: no bound)."""
        if max_mb and self.bytes > max_mb * MB:
            raise PayloadTooLarge(
                f"{process_id}: {self.input}: this run would need about "
                f"{self.bytes / MB:,.0f} MB ({self.detail}), more than the {max_mb:,} MB a "
                f"process run may use; {self.hint}"
            )

    def __add__(self, other: Cost) -> Cost:
        """Two parts held at once; the larger names the input."""
        larger = self if self.bytes >= other.bytes else other
        detail = f"{self.detail} + {other.detail}"
        return Cost(self.bytes + other.bytes, larger.input, detail, larger.hint)


def raster_cells(ctx: Context, spec: RasterInput, cell_m: float | None = None) -> int:
    """Cells of the raster as the analysis will hold it (on the metric grid at ``cell_m``
    for a geographic raster), from its header only."""
    source = raster_source(ctx, spec)
    with rasterio.open(source.path) as dataset:
        if dataset.crs is None or not dataset.crs.is_geographic:
            return int(dataset.width * dataset.height)
        _, width, height = metric_shape(
            dataset.crs, dataset.width, dataset.height, dataset.bounds, cell_m
        )
        return width * height


def raster_cost(ctx: Context, spec: RasterInput, arrays: int, cell_m: float | None = None) -> Cost:
    """``arrays`` float grids the size of the raster, held at once."""
    cells = raster_cells(ctx, spec, cell_m)
    hint = "give a larger cell_m" if cell_m is not None else "use a coarser raster"
    return Cost(
        cells * arrays * FLOAT_BYTES,
        spec.input_name,
        f"{cells:,} cells × {arrays} grids",
        hint,
    )


def vector_cost(ctx: Context, spec: LayerInput) -> Cost:
    """A vector input in memory: its stored size (a collection's table, inline JSON) ×
    ``VECTOR_EXPANSION``; a collection's ``adcode``/``filter`` only lower the real cost."""
    if spec.collection is None:
        stored = len(json.dumps(spec.features))
        what = "inline features"
    else:
        layer = vector_layer(ctx, spec)
        params = {"schema": DATA_SCHEMA, "table": layer.table_name}
        row = ctx.connection().execute(load_sql("table_bytes"), params).fetchone()
        stored = int(row[0]) if row else 0
        what = f"{layer.feature_count:,} features of '{layer.id}'"
    hint = "restrict it with an adcode or a filter, or split the layer"
    return Cost(stored * VECTOR_EXPANSION, spec.input_name, f"{what}, stored in {stored:,} B", hint)


def vectors_cost(ctx: Context, *specs: LayerInput | None) -> Cost:
    """Every given vector input held at once."""
    costs = [vector_cost(ctx, spec) for spec in specs if spec is not None]
    total = costs[0]
    for cost in costs[1:]:
        total = total + cost
    return total
