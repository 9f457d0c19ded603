"""``onemap tiles seed`` and ``onemap tiles export``.

The command line acts as a local admin (``ogc.gate.caller.LOCAL_ADMIN``): it may seed and
export every layer, and stores each tile under the scope that caller sees it in, so seeded
tiles of public layers are the ones public requests read."""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager
from pathlib import Path

import click
from tqdm import tqdm

from layers.access.caller import ANONYMOUS, Caller
from layers.catalog import Catalog, Layer, load_catalog
from layers.db import connect, open_pool_lazily
from layers.errors import InvalidParameter
from layers.settings import ServiceSettings
from ogc.gate.caller import LOCAL_ADMIN
from ogc.gate.visible import cache_scope, visible_layer
from tiles import export, grids, seed
from tiles.cache import TileCache
from tiles.plan import TilePlan
from tiles.service import Tile, TileProducer

CONCURRENCY = 4


@click.group("tiles")
def tiles_cli() -> None:
    """Tile cache seeding and offline packages."""


def _area(
    url: str,
    settings: ServiceSettings,
    catalog: Catalog,
    layer: Layer,
    bbox: str | None,
    adcode: str | None,
) -> grids.Bounds:
    if bbox and adcode:
        raise InvalidParameter("give --bbox or --adcode, not both")
    if bbox:
        return seed.parse_bbox(bbox)
    if adcode:
        with connect(url) as conn:
            return seed.adcode_bounds(conn, catalog, adcode, settings.admin)
    if layer.extent is None:
        raise InvalidParameter(f"'{layer.id}' has no extent; give --bbox")
    return layer.extent


async def _produce(
    url: str,
    settings: ServiceSettings,
    layer: Layer,
    tms_id: str,
    fmt: str,
    addresses: list[seed.TileAddress],
    keep: bool,
    caller: Caller = LOCAL_ADMIN,
) -> list[Tile]:
    pool = open_pool_lazily(url, min_size=1, max_size=CONCURRENCY, statement_timeout_ms=0)
    await pool.open(wait=True)
    try:
        producer = TileProducer(pool, TileCache(settings.tiles_dir), settings.gzip_level)
        # The layer's overviews first (as the server builds them at publish time), so low
        # levels are seeded from them; a no-op when the server has built them already.
        await producer.overviews.build_missing(pool, [layer])
        make = seed.maker(producer, TilePlan.of(layer), tms_id, fmt, cache_scope(layer, caller))
        gate = asyncio.Semaphore(CONCURRENCY)
        made: list[Tile] = []
        with tqdm(total=len(addresses), unit="tile", desc=f"{layer.id} {tms_id}") as bar:

            async def one(address: seed.TileAddress) -> None:
                async with gate:
                    tile = await make(address)
                bar.update(1)
                if keep:
                    made.append(tile)

            await asyncio.gather(*(one(a) for a in addresses))
        return made
    finally:
        await pool.close()


def _setup() -> tuple[ServiceSettings, AbstractContextManager[str]]:
    from ogc.cli.database import database

    settings = ServiceSettings()
    return settings, database(settings)


@tiles_cli.command("seed")
@click.argument("layer_id")
@click.option("--tms", "tms_id", default="WebMercatorQuad", show_default=True)
@click.option("--zoom", default="0-12", show_default=True, help="Levels, e.g. 0-12.")
@click.option("--bbox", help="west,south,east,north in lon/lat.")
@click.option("--adcode", help="Administrative code pattern, e.g. 4401* (Guangzhou).")
@click.option("--format", "fmt", type=click.Choice(["mvt", "png"]), default="mvt")
def seed_command(
    layer_id: str, tms_id: str, zoom: str, bbox: str | None, adcode: str | None, fmt: str
) -> None:
    """Make and cache every tile of LAYER_ID over an area."""
    settings, db = _setup()
    with db as url:
        with connect(url) as conn:
            catalog = load_catalog(conn)
        layer = visible_layer(catalog, layer_id, LOCAL_ADMIN)
        area = _area(url, settings, catalog, layer, bbox, adcode)
        addresses = list(seed.tiles_in(tms_id, area, seed.parse_zoom(zoom)))
        tiles = asyncio.run(_produce(url, settings, layer, tms_id, fmt, addresses, keep=True))
    stored = sum(1 for t in tiles if not t.empty)
    click.echo(
        f"{layer_id}: {len(tiles)} tiles seeded ({stored} with data) in {settings.tiles_dir}"
    )


@tiles_cli.command("export")
@click.argument("layer_id")
@click.option("--format", "package", type=click.Choice(["pmtiles", "mbtiles"]), required=True)
@click.option("--tiles", "fmt", type=click.Choice(["mvt", "png"]), default="mvt", show_default=True)
@click.option("--zoom", default="0-12", show_default=True)
@click.option("--bbox", help="west,south,east,north in lon/lat.")
@click.option("--adcode", help="Administrative code pattern, e.g. 4401*.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file.")
@click.option(
    "--public",
    "public_edition",
    is_flag=True,
    help="The public edition (公众版): a public layer without its internal fields.",
)
def export_command(
    layer_id: str,
    package: str,
    fmt: str,
    zoom: str,
    bbox: str | None,
    adcode: str | None,
    output: Path | None,
    public_edition: bool,
) -> None:
    """Package LAYER_ID's WebMercatorQuad tiles for offline use (every field, as the local
    admin; ``--public``: as an anonymous caller sees the layer)."""
    settings, db = _setup()
    levels = seed.parse_zoom(zoom)
    target = output or Path(f"{layer_id}.{package}")
    with db as url:
        with connect(url) as conn:
            catalog = load_catalog(conn)
        caller = ANONYMOUS if public_edition else LOCAL_ADMIN
        layer = visible_layer(catalog, layer_id, caller)  # the view: no internal field
        area = _area(url, settings, catalog, layer, bbox, adcode)
        addresses = list(seed.tiles_in("WebMercatorQuad", area, levels))
        tiles = asyncio.run(
            _produce(url, settings, layer, "WebMercatorQuad", fmt, addresses, True, caller)
        )
    records = [(t.key.z, t.key.col, t.key.row, t.data) for t in tiles]
    write = export.write_pmtiles if package == "pmtiles" else export.write_mbtiles
    count = write(target, layer, fmt, records, levels.start, levels.stop - 1)
    click.echo(f"{layer_id}: {count} tiles written to {target}")
