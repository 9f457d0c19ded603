"""A disk tile cache whose keys make staleness impossible.

A key names the layer *and the version that made its table* (plus the style version for map
tiles, the caller's access scope, the grid, the tile and the format), so when a new table is
published, rolled back or restyled, the next request simply computes a key that was never
written: nothing has to be invalidated in time and every replica (which reloads the catalog
on NOTIFY) agrees. Old versions' files are only garbage, removed by
:meth:`TileCache.remove_other_versions`. An edit changes the table in place and keeps the
key: exactly the tiles it touches are deleted (``tiles.purge``), and a tile's ETag names its
bytes' digest, so a re-made tile never answers a stale 304.

Layout: ``{root}/{layer}/v{version}/{scope}/{style}/{tms}/{z}/{row}/{col}{variant}.{ext}``;
an empty tile is stored as a zero-length file (served as 204). Vector tiles are stored
gzip-compressed (deterministically: no timestamp), compressed once when made, so neither the
app nor a static server compresses them per request. For a client that refuses gzip the
decompressed bytes are kept beside, once asked for (``identity``): a sidecar named after the
digest of the gzip bytes it came from, so a sidecar left behind by an edit's race can never be
served for the re-made tile — it names other bytes. The root can be shared
storage so replicas share the cache. Writes go to a temporary file renamed into place, so a
reader never sees half a tile.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from layers.access.caller import PUBLIC_SCOPE
from tiles import grids
from tiles.edit_area import EditArea

log = logging.getLogger("onemap.tiles.cache")
EXTENSIONS = {"mvt": "mvt", "png": "png"}
NO_STYLE = "-"
IDENTITY = ".identity"  # ends a sidecar's name: {col}{variant}.mvt.{digest}.identity


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

    def etag(self, data: bytes, identity: bool = False) -> str:
        """Strong ETag of the key and the stored bytes' digest: an edit re-makes a tile
        under the same key, so the key alone cannot tell its bytes (every replica stores
        identical bytes for one key, so they agree). Vector tiles are stored
        gzip-compressed; their decompressed representation (for the rare client that
        refuses gzip) gets its own tag."""
        suffix = IDENTITY if identity else ""
        return (
            f'"{self.layer_id}.{self.version}.{self.scope}.{self.style}.{self.tms_id}.'
            f'{self.z}.{self.row}.{self.col}{self.variant}.{self.fmt}.{digest(data)}{suffix}"'
        )

    def identity_path(self, stored: bytes) -> str:
        """Where the decompressed form of ``stored`` (this key's gzip bytes) is kept."""
        return f"{self.relative_path()}.{digest(stored)}{IDENTITY}"


def digest(data: bytes) -> str:
    """The short digest that names a tile's bytes (in ETags and sidecar names)."""
    return hashlib.blake2b(data, digest_size=8).hexdigest()


class TileCache:
    """Tiles on disk under ``root``; every method is cheap and safe to call concurrently.

    ``best_effort``: a write that fails (a full disk, a quota, a read-only mount) is not
    the request's failure — the tile is served uncached. One warning says so when writes
    start failing and one line when a tile is stored again, not a line per tile. A
    seeding run (whose point is to fill the cache) keeps the default and fails loudly.
    """

    def __init__(self, root: Path, *, best_effort: bool = False) -> None:
        self.root = Path(root)
        self.best_effort = best_effort
        self.unwritable: OSError | None = None  # why writes fail, until one succeeds again
        self.unwritten = 0  # tiles not stored since then
        self._health = threading.Lock()  # writes come from the loop and worker threads
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

    def identity(self, key: TileKey, stored: bytes) -> bytes:
        """The decompressed bytes of a vector tile stored as ``stored``: read from its
        sidecar, or decompressed once and the sidecar written (a client that refuses gzip
        costs a second small read per hit, not a decompression)."""
        if key.fmt != "mvt" or not stored:
            return stored
        relative = key.identity_path(stored)
        try:
            with open(self._prefix + relative, "rb", buffering=0) as handle:
                return handle.readall()
        except (FileNotFoundError, NotADirectoryError):
            pass
        plain = gzip.decompress(stored)
        with contextlib.suppress(OSError):  # a full or read-only cache: serve it anyway
            self._write(self.root / relative, plain)
        return plain

    def put(self, key: TileKey, data: bytes) -> None:
        try:
            self._write(self.path(key), data)
        except OSError as exc:
            if not self.best_effort:
                raise
            self._write_failed(exc)
            return
        if self.unwritable is not None and data:  # an empty file needs no space: no proof
            self._write_recovered()

    def _write_recovered(self) -> None:
        with self._health:
            if self.unwritable is None:
                return
            self.unwritable, unwritten, self.unwritten = None, self.unwritten, 0
        log.warning(
            "tile cache %s is writable again; %d tiles were served uncached meanwhile",
            self.root,
            unwritten,
        )

    def _write_failed(self, exc: OSError) -> None:
        with self._health:
            self.unwritten += 1
            first, self.unwritable = self.unwritable is None, self.unwritable or exc
        if first:
            reason = errno.errorcode.get(exc.errno or 0, "error")
            log.warning(
                "tile cache %s cannot be written (%s: %s); serving tiles uncached until "
                "it can (one line when it recovers)",
                self.root,
                reason,
                exc.strerror or exc,
            )

    def _write(self, target: Path, data: bytes) -> None:
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
        """Delete the cached tiles of ``layer_id`` that a lon/lat box touches; count them."""
        return len(self.purge_area(layer_id, EditArea((lonlat_bbox,))))

    def purge_area(
        self, layer_id: str, area: EditArea, version: int | None = None
    ) -> list[TileKey]:
        """Delete exactly the cached tiles of ``layer_id`` an edit touched (``version``:
        only that cache version's) in every scope, style, grid, level, format and property
        selection, and name them. The cost is one listing per candidate row directory."""
        removed: list[TileKey] = []
        versions = f"v{version}" if version is not None else "v*"
        for tms_dir in (p for p in (self.root / layer_id).glob(f"{versions}/*/*/*") if p.is_dir()):
            if tms_dir.name not in grids.list_tms():
                continue
            for level_dir in _numbered(tms_dir.iterdir()):
                removed += _remove_touched(layer_id, tms_dir, int(level_dir.name), area)
        return removed


def _remove_touched(layer_id: str, tms_dir: Path, z: int, area: EditArea) -> list[TileKey]:
    style_dir = tms_dir.parent
    scope, version = style_dir.parent.name, int(style_dir.parent.parent.name[1:])
    removed: list[TileKey] = []
    rows = {
        row for lim in area.limits(tms_dir.name, z) for row in range(lim.min_row, lim.max_row + 1)
    }
    for row in sorted(rows):
        try:
            names = os.listdir(tms_dir / str(z) / str(row))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in names:
            stem, _, ext = name.partition(".")
            col_text, dash, variant = stem.partition("-")
            if not col_text.isdigit() or not area.touches(tms_dir.name, z, row, int(col_text)):
                continue
            (tms_dir / str(z) / str(row) / name).unlink(missing_ok=True)
            if name.endswith(IDENTITY):
                continue  # a sidecar: its tile is named by its own file
            fmt = "png" if ext == "png" else "mvt"
            key = (layer_id, version, tms_dir.name, z, row, int(col_text), fmt)
            removed.append(TileKey(*key, style_dir.name, scope, dash + variant))
    return removed


def _numbered(paths: Iterable[Path]) -> Iterator[Path]:
    return (p for p in paths if p.name.isdigit())


def _umask() -> int:
    """The process's umask (reading it means setting it; put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
