"""Offline packages of a layer's tiles: PMTiles v3 and MBTiles 1.3 (for field teams).

Both take (z, col, row, bytes) tuples of WebMercatorQuad tiles, the only grid the two
formats define. MVT tiles are stored gzip-compressed, as both specifications expect.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from layers.catalog import Layer

GZIP_MAGIC = b"\x1f\x8b"
TileRecord = tuple[int, int, int, bytes]  # z, col (x), row (y, from the top), data


def _metadata(layer: Layer, fmt: str, minzoom: int, maxzoom: int) -> dict[str, Any]:
    west, south, east, north = layer.extent or (-180.0, -85.0, 180.0, 85.0)
    meta: dict[str, Any] = {
        "name": layer.id,
        "description": layer.title,
        "attribution": layer.attribution,
        "version": str(layer.version),
        "format": "pbf" if fmt == "mvt" else "png",
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, minzoom],
        "type": "overlay",
    }
    if fmt == "mvt":
        fields = {f.name: f.type for f in layer.fields}
        meta["vector_layers"] = [
            {"id": layer.id, "fields": fields, "minzoom": minzoom, "maxzoom": maxzoom}
        ]
    return meta


def write_pmtiles(
    path: Path, layer: Layer, fmt: str, tiles: Iterable[TileRecord], minzoom: int, maxzoom: int
) -> int:
    """Write a PMTiles archive; returns the number of tiles written."""
    entries = sorted(
        ((zxy_to_tileid(z, x, y), _payload(fmt, data)) for z, x, y, data in tiles if data),
        key=lambda item: item[0],
    )
    meta = _metadata(layer, fmt, minzoom, maxzoom)
    west, south, east, north = meta["bounds"]
    with open(path, "wb") as handle:
        writer = Writer(handle)  # type: ignore[no-untyped-call]
        for tile_id, data in entries:
            writer.write_tile(tile_id, data)  # type: ignore[no-untyped-call]
        header = {
            "tile_type": TileType.MVT if fmt == "mvt" else TileType.PNG,
            "tile_compression": Compression.GZIP if fmt == "mvt" else Compression.NONE,
            "min_zoom": minzoom,
            "max_zoom": maxzoom,
            "min_lon_e7": int(west * 1e7),
            "min_lat_e7": int(south * 1e7),
            "max_lon_e7": int(east * 1e7),
            "max_lat_e7": int(north * 1e7),
            "center_zoom": minzoom,
            "center_lon_e7": int((west + east) / 2 * 1e7),
            "center_lat_e7": int((south + north) / 2 * 1e7),
        }
        meta_json = {k: v for k, v in meta.items() if k not in {"bounds", "center"}}
        writer.finalize(header, meta_json)  # type: ignore[no-untyped-call]
    return len(entries)


def write_mbtiles(
    path: Path, layer: Layer, fmt: str, tiles: Iterable[TileRecord], minzoom: int, maxzoom: int
) -> int:
    """Write an MBTiles 1.3 file (rows flipped to TMS numbering, as the spec says)."""
    path.unlink(missing_ok=True)
    meta = _metadata(layer, fmt, minzoom, maxzoom)
    count = 0
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name text, value text)")
        db.execute(
            "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, "
            "tile_data blob)"
        )
        db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        for z, x, y, data in tiles:
            if data:
                db.execute(
                    "INSERT INTO tiles VALUES (?, ?, ?, ?)",
                    (z, x, (1 << z) - 1 - y, _payload(fmt, data)),
                )
                count += 1
        rows = [(k, _text(v)) for k, v in meta.items() if k != "vector_layers"]
        if "vector_layers" in meta:
            rows.append(("json", json.dumps({"vector_layers": meta["vector_layers"]})))
        db.executemany("INSERT INTO metadata VALUES (?, ?)", rows)
    return count


def _payload(fmt: str, data: bytes) -> bytes:
    """MVT gzip-compressed (the cache already stores it so), PNG as is."""
    if fmt == "mvt" and not data.startswith(GZIP_MAGIC):
        return gzip.compress(data, mtime=0)
    return data


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
