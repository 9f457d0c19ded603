"""A disk tile cache whose keys make staleness impossible.

A key names the layer *and its version* (plus the style version for map tiles, the caller's
access scope, the grid, the tile and the format), so when a new version is published, rolled
back or restyled, the next request simply computes a key that was never written: nothing has
to be invalidated in time and every replica (which reloads the catalog on NOTIFY) agrees.
Old versions' files are only garbage, removed by :meth:`TileCache.remove_other_versions`.

Layout: ``{root}/{layer}/v{version}/{scope}/{style}/{tms}/{z}/{row}/{col}{variant}.{ext}``;
an empty tile is stored as a zero-length file (served as 204). Vector tiles are stored
gzip-compressed (deterministically: no timestamp), compressed once when made, so neither the
app nor a static server compresses them per request. The root can be shared
storage so replicas share the cache. Writes go to a temporary file renamed into place, so a
reader never sees half a tile.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from layers.access.caller import PUBLIC_SCOPE
from tiles import grids

EXTENSIONS = {"mvt": "mvt", "png": "png"}
NO_STYLE = "-"


@dataclass(frozen=True)
class TileKey:
    layer_id: str
    version: int
    tms_id: str
    z: int
    row: int
    col: int
    fmt: str  # "mvt" or "png"
    style: str = NO_STYLE  # style version of map tiles
    scope: str = PUBLIC_SCOPE  # what the caller sees (layers.access.rules.cache_scope)
    variant: str = ""  # e.g. a hash of the selected properties; "" for the default tile

    def relative_path(self) -> str:
        return (
            f"{self.layer_id}/v{self.version}/{self.scope}/{self.style}/{self.tms_id}/"
            f"{self.z}/{self.row}/{self.col}{self.variant}.{EXTENSIONS[self.fmt]}"
        )

    def etag(self, identity: bool = False) -> str:
        """Strong ETag from the key alone: one key always holds the same bytes. Vector
        tiles are stored gzip-compressed; their decompressed representation (for the rare
        client that refuses gzip) gets its own tag."""
        suffix = ".identity" if identity else ""
        return (
            f'"{self.layer_id}.{self.version}.{self.scope}.{self.style}.{self.tms_id}.'
            f'{self.z}.{self.row}.{self.col}{self.variant}.{self.fmt}{suffix}"'
        )


class TileCache:
    """Tiles on disk under ``root``; every method is cheap and safe to call concurrently."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._prefix = str(self.root) + os.sep
        # Files as the umask says, as any other file written: mkstemp's 0600 would keep the
        # cache from a web server or CDN origin in front of it (nginx's workers run as
        # another user) and from replicas running under other accounts.
        self._mode = 0o666 & ~_umask()

    def path(self, key: TileKey) -> Path:
        return self.root / key.relative_path()

    def get(self, key: TileKey) -> bytes | None:
        """The cached bytes (b"" for an empty tile), or None when not cached."""
        # Plain string path and unbuffered read: this is the cache-hit hot path.
        try:
            with open(self._prefix + key.relative_path(), "rb", buffering=0) as handle:
                return handle.readall()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def put(self, key: TileKey, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            os.fchmod(handle, self._mode)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def purge_layer(self, layer_id: str) -> None:
        """Remove every cached tile of one layer (all versions, scopes and styles)."""
        shutil.rmtree(self.root / layer_id, ignore_errors=True)

    def remove_other_versions(self, layer_id: str, current_version: int) -> int:
        """Delete the files of a layer's versions other than the current one; count them."""
        removed = 0
        layer_dir = self.root / layer_id
        if not layer_dir.is_dir():
            return 0
        for version_dir in layer_dir.iterdir():
            if version_dir.name != f"v{current_version}":
                shutil.rmtree(version_dir, ignore_errors=True)
                removed += 1
        return removed

    def sweep(self, current_versions: Mapping[str, int]) -> int:
        """Drop the files of versions that are no longer current, and of layers that are
        gone (run after a catalog change; stale files are never read, this only frees disk)."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for layer_dir in self.root.iterdir():
            version = current_versions.get(layer_dir.name)
            if version is None:
                shutil.rmtree(layer_dir, ignore_errors=True)
                removed += 1
            else:
                removed += self.remove_other_versions(layer_dir.name, version)
        return removed

    def purge_bounds(self, layer_id: str, lonlat_bbox: grids.Bounds) -> int:
        """Delete only the cached tiles of ``layer_id`` that intersect a lon/lat box (an edit).

        Works per cached grid and level with the grid's own tile ranges, so the cost is one
        directory listing per cached level, not a walk over every tile.
        """
        removed = 0
        for tms_dir in self._grid_dirs(layer_id):
            levels = [int(p.name) for p in tms_dir.iterdir() if p.name.isdigit()]
            levels = [z for z in levels if z in grids.level_range(tms_dir.name)]
            if not levels:
                continue
            for limits in grids.matrix_limits(tms_dir.name, lonlat_bbox, levels):
                removed += _remove_range(tms_dir / limits.tile_matrix, limits)
        return removed

    def _grid_dirs(self, layer_id: str) -> Iterator[Path]:
        # {layer}/v{version}/{scope}/{style}/{tms}
        yield from (p for p in (self.root / layer_id).glob("v*/*/*/*") if p.is_dir())


def _remove_range(level_dir: Path, limits: grids.TileMatrixLimits) -> int:
    removed = 0
    for row_dir in _numbered(level_dir.iterdir() if level_dir.is_dir() else ()):
        if not limits.min_row <= int(row_dir.name) <= limits.max_row:
            continue
        for tile in row_dir.iterdir():
            col = tile.name.split(".", 1)[0].split("-", 1)[0]
            if col.isdigit() and limits.min_col <= int(col) <= limits.max_col:
                tile.unlink(missing_ok=True)
                removed += 1
    return removed


def _numbered(paths: Iterable[Path]) -> Iterator[Path]:
    return (p for p in paths if p.name.isdigit())


def _umask() -> int:
    """The process's umask (reading it means setting it; put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
