"""The sha256 of a source file, optionally started early on a background thread.

A one-shot ``onemap ingest`` spends its first few hundred milliseconds importing the
data stack on one core. hashlib and file reads release the GIL, so hashing the source
meanwhile makes its fingerprint free by the time the pipeline asks for it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from threading import Thread

Digest = tuple[str, int]  # hex sha256, bytes hashed


class _Hashing(Thread):
    def __init__(self, path: Path) -> None:
        super().__init__(name="ingest-sha256", daemon=True)
        self.path = path
        self.result: Digest | None = None
        self.error: OSError | None = None

    def run(self) -> None:
        try:
            self.result = _hash(self.path)
        except OSError as exc:  # reported when the digest is asked for
            self.error = exc


_started: dict[Path, _Hashing] = {}


def hash_in_background(path: Path) -> None:
    """Start hashing ``path`` now; a later ``file_sha256(path)`` collects the result."""
    if path.exists() and path.resolve() not in _started:
        thread = _started[path.resolve()] = _Hashing(path)
        thread.start()


def file_sha256(path: Path) -> Digest:
    """The sha256 and size of a file, of a shapefile's file set, or of a FileGDB folder."""
    thread = _started.pop(path.resolve(), None)
    if thread is None:
        return _hash(path)
    thread.join()
    if thread.error is not None:
        raise thread.error
    assert thread.result is not None
    return thread.result


def _hash(path: Path) -> Digest:
    digest = hashlib.sha256()
    size = 0
    for part in _companion_files(path):
        with part.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    return digest.hexdigest(), size


def _companion_files(path: Path) -> list[Path]:
    if path.is_dir():  # a FileGDB folder
        return sorted(p for p in path.rglob("*") if p.is_file())
    if path.suffix.lower() != ".shp":
        return [path]
    return sorted(p for p in path.parent.glob(path.stem + ".*") if p.is_file())
