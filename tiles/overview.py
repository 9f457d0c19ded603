"""Per-level overviews of big layers, so low-zoom tiles never scan a million rows.

For a layer version with at least ``MIN_FEATURES`` features, one table per grid family holds,
for every level 0..``MAX_LEVEL``, the features that survive thinning at that level (one small
feature per 4×4-pixel cell, every bigger one), already in the grid's CRS, with a GiST index
on (level, geometry). It is built once per version when the version is published (a
background task of the app started by the catalog change, ``ogc/services/``; the seeding
command builds it before seeding), never by a tile request; in one transaction (readers see
all or nothing), under an advisory lock (replicas build it once between them: the others
wait and find it), and registered in ``onemap.tile_overviews``; older versions' overviews
are dropped after a build. Until it exists, tiles come from the version table with the same
thinning, just slower.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Iterable
from importlib import resources

from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from layers.catalog import Layer
from layers.platform import DATA_SCHEMA
from layers.replicas import ReadRouter
from tiles import grids, merge, mvt

MIN_FEATURES = 50_000
SMALL_POLYGONS_LEVEL = 5  # polygons on average under a cell here get overviews at any count
MAX_LEVEL = {mvt.MERCATOR.name: 10, mvt.GEOGRAPHIC.name: 9}  # ~1.5 km cells at the top
ORIGIN = {
    mvt.MERCATOR.name: (-grids.WEB_MERCATOR_HALF_WIDTH_M, grids.WEB_MERCATOR_HALF_WIDTH_M),
    mvt.GEOGRAPHIC.name: (-180.0, 90.0),
}
LEVEL0_TILE_WIDTH = {
    mvt.MERCATOR.name: 2 * grids.WEB_MERCATOR_HALF_WIDTH_M,
    mvt.GEOGRAPHIC.name: 180.0,
}
log = logging.getLogger("onemap.tiles.overview")


def overview_table_name(layer: Layer, family: mvt.Family) -> str:
    digest = hashlib.sha1(f"{layer.table_name}/{family.name}".encode()).hexdigest()[:16]
    return f"ovw_{digest}"


def wants_overview(layer: Layer, family: mvt.Family, level: int) -> bool:
    return (
        layer.kind == "vector"
        and (layer.feature_count >= MIN_FEATURES or has_small_polygons(layer))
        and 0 <= level <= MAX_LEVEL[family.name]
    )


def has_small_polygons(layer: Layer) -> bool:
    """Whether a polygon layer's features are on average (its extent shared among them)
    under a 4×4-pixel cell of Web Mercator z``SMALL_POLYGONS_LEVEL``: thinned, such a
    layer draws there and below as dots, one per cell; merged (``tiles.merge``), it fills
    what the data fills, whatever its count, for a build about as cheap as the layer is
    small. Coarser ones (boundaries: a few hundred features over a province) thin only at
    the lowest zooms, and skip the build."""
    if not merge.is_polygon_layer(layer) or not layer.extent or layer.feature_count <= 0:
        return False
    west, south, east, north = layer.extent
    mean_side = math.sqrt(max(east - west, 0.0) * max(north - south, 0.0) / layer.feature_count)
    return mean_side < 360 / (1 << SMALL_POLYGONS_LEVEL) / mvt.CELLS_PER_TILE


def _sql(name: str) -> str:
    return (resources.files("tiles") / "sql" / name).read_text(encoding="utf-8")


def cell_params(family: mvt.Family, level: int) -> dict[str, float | int]:
    """Bind values making ``mvt.cell_key`` global: the grid origin acts as the tile corner."""
    x0, y0 = ORIGIN[family.name]
    cell = LEVEL0_TILE_WIDTH[family.name] / 2**level / mvt.CELLS_PER_TILE
    return {
        "xmin": x0,
        "ymax": y0,
        "cell": cell,
        "pixel": cell / mvt.CELL_PX,
        "level": level,
    }


class OverviewRegistry:
    """Which overviews this process knows to exist, and building them for new versions.

    ``build_missing(pool, layers)`` is called on every catalog change (as a background task,
    ``ogc/services/``) and by the seeding command. One build loop runs at a time and always
    takes the next overview from the newest layers it was given, so a version superseded
    while others build is skipped. Tile requests only ask ``table_for``: they never build
    nor look for an overview."""

    def __init__(self, reads: ReadRouter | None = None) -> None:
        self._reads = reads  # a built overview is read on a standby once it has it
        self._ready: set[str] = set()
        self._taken: set[tuple[str, int, str]] = set()  # (layer, version, family)
        self._failed: set[tuple[str, int, str]] = set()  # retried on the next call
        self._layers: tuple[Layer, ...] = ()
        self._running = False

    def table_for(self, layer: Layer, spec: mvt.TileSpec) -> str | None:
        """The overview to read this tile from, or None (read the version table)."""
        if not wants_overview(layer, spec.family, spec.level):
            return None
        name = overview_table_name(layer, spec.family)
        return name if name in self._ready else None

    async def build_missing(self, pool: AsyncConnectionPool, layers: Iterable[Layer]) -> None:
        """Build (or find, when another process built it) every overview ``layers`` want;
        returns at once if a build loop is running already (it takes these layers up)."""
        self._layers = tuple(layers)
        self._taken -= self._failed
        self._failed.clear()
        if self._running:
            return
        self._running = True
        try:
            while (item := self._next()) is not None:
                await self._build(pool, *item)
        finally:
            self._running = False

    def _next(self) -> tuple[Layer, mvt.Family] | None:
        for layer in self._layers:
            for family in (mvt.MERCATOR, mvt.GEOGRAPHIC):
                taken = (layer.id, layer.version, family.name)
                if wants_overview(layer, family, 0) and taken not in self._taken:
                    self._taken.add(taken)
                    return layer, family
        return None

    async def _build(self, pool: AsyncConnectionPool, layer: Layer, family: mvt.Family) -> None:
        name = overview_table_name(layer, family)
        try:
            async with pool.connection() as conn:
                await build_overview(conn, layer, family)
                if self._reads is not None:
                    await self._reads.advance(conn)
            self._ready.add(name)
        except Exception:  # tiles keep coming from the version table; retried on a change
            self._failed.add((layer.id, layer.version, family.name))
            log.exception("building overview %s of %s v%s failed", name, layer.id, layer.version)


async def build_overview(conn: AsyncConnection, layer: Layer, family: mvt.Family) -> None:
    """Create and register the overview of one layer version and family (idempotent)."""
    name = overview_table_name(layer, family)
    started = time.monotonic()
    async with conn.transaction():
        await conn.execute("SET LOCAL statement_timeout = 0")
        await conn.execute("SET LOCAL work_mem = '64MB'")  # per-cell grouping stays in memory
        await conn.execute("SET LOCAL jit = off")  # compiling each level cost more than running it
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
        cursor = await conn.execute("SELECT to_regclass(%s)", [f"{DATA_SCHEMA}.{name}"])
        row = await cursor.fetchone()
        if row and row[0]:
            return
        overview = sql.Identifier(DATA_SCHEMA, name)
        await _create_table(conn, layer, family, overview)
        top = MAX_LEVEL[family.name]
        await _insert_levels(conn, layer, family, overview, top)
        await conn.execute(sql.SQL("CREATE INDEX ON {} USING gist (z, geom)").format(overview))
        await conn.execute(sql.SQL("ANALYZE {}").format(overview))
        count = await (
            await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(overview))
        ).fetchone()
        await conn.execute(
            _sql("overview_register.sql"),
            {
                "table_name": name,
                "layer_id": layer.id,
                "version": layer.version,
                "family": family.name,
                "max_level": top,
                "row_count": count[0] if count else 0,
            },
        )
        await _drop_stale(conn, layer)
    log.info(
        "overview %s of %s v%s (%s) built in %.1fs",
        name,
        layer.id,
        layer.version,
        family.name,
        time.monotonic() - started,
    )


def _grid_geom(family: mvt.Family) -> sql.Composable:
    if family is mvt.GEOGRAPHIC:
        return sql.SQL("t.geom")
    return sql.SQL("ST_Transform(t.geom, {})").format(sql.Literal(family.srid))


async def _create_table(
    conn: AsyncConnection, layer: Layer, family: mvt.Family, overview: sql.Identifier
) -> None:
    columns = sql.SQL("").join(
        sql.SQL(", t.{}").format(sql.Identifier(n)) for n in layer.field_names
    )
    await conn.execute(
        sql.SQL(
            # geometry of any type: a merged row of a POLYGON layer may be a MULTIPOLYGON
            "CREATE TABLE {overview} AS SELECT 0::smallint AS z, t.fid, {geom}::geometry AS geom, "
            "NULL::integer AS {merged}{columns} FROM {table} AS t WITH NO DATA"
        ).format(
            overview=overview,
            merged=sql.Identifier(merge.MERGED),
            geom=_grid_geom(family),
            columns=columns,
            table=sql.Identifier(DATA_SCHEMA, layer.table_name),
        )
    )


async def _insert_levels(
    conn: AsyncConnection, layer: Layer, family: mvt.Family, overview: sql.Identifier, top: int
) -> None:
    """Every level, finest first. Polygon layers: each level from the features transformed
    once, small polygons merged (``tiles.merge``); others: thinned, each level from the
    finer one."""
    if merge.is_polygon_layer(layer):
        members = merge.members_parts(family)
        await _insert_level(
            conn, layer, family, overview, top, "overview_polygons_members.sql", members
        )
        parts = merge.level_parts(family)
        for level in range(top, -1, -1):
            await _insert_level(
                conn, layer, family, overview, level, "overview_polygons.sql", parts
            )
        return
    # The finest level reads lon/lat rows; coarser levels read grid coordinates already.
    finest = {"cell_key": mvt.cell_key(layer, family)}
    await _insert_level(conn, layer, family, overview, top, "overview_finest.sql", finest)
    coarser = {"cell_key": mvt.cell_key(layer, mvt.GEOGRAPHIC)}
    for level in range(top - 1, -1, -1):
        await _insert_level(conn, layer, family, overview, level, "overview_coarser.sql", coarser)


async def _insert_level(
    conn: AsyncConnection,
    layer: Layer,
    family: mvt.Family,
    overview: sql.Identifier,
    level: int,
    template: str,
    parts: dict[str, sql.Composable],
) -> None:
    names = sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(n)) for n in layer.field_names)
    columns = sql.SQL("").join(
        sql.SQL(", t.{}").format(sql.Identifier(n)) for n in layer.field_names
    )
    statement = sql.SQL(_sql(template)).format(
        overview=overview,
        names=names,
        columns=columns,
        grid_geom=_grid_geom(family),
        table=sql.Identifier(DATA_SCHEMA, layer.table_name),
        **parts,
    )
    await conn.execute(statement, cell_params(family, level))


async def _drop_stale(conn: AsyncConnection, layer: Layer) -> None:
    cursor = await conn.execute(
        _sql("overview_stale.sql"), {"layer_id": layer.id, "version": layer.version}
    )
    for (table_name,) in await cursor.fetchall():
        await conn.execute(
            sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(DATA_SCHEMA, table_name))
        )
