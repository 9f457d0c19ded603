"""Unpacking uploaded archives (zip, KMZ) without letting them fill the disk.

A zip's headers can claim anything, so the bytes actually written are counted while
each member is copied; extraction stops at the first byte over the budget. The budget
is a ratio of the archive's own size (with a floor, so small deliveries always fit)
and never more than a multiple of ``ONEMAP_MAX_UPLOAD_MB``. Member names that leave
the target folder (``../``, absolute paths, drive letters) and symbolic links are
refused before anything is written.
"""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from layers.errors import IngestError

MB = 1024 * 1024
DRIVE = re.compile(r"^[A-Za-z]:")  # C:/… or C:… (Windows absolute or drive-relative)
CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """How much an archive may unpack to."""

    max_upload_mb: int = 2048  # ONEMAP_MAX_UPLOAD_MB
    ratio: int = 100  # unpacked bytes per archive byte
    floor_mb: int = 64  # always allowed, whatever the ratio says
    upload_multiple: int = 10  # absolute cap: this many times ONEMAP_MAX_UPLOAD_MB
    max_members: int = 10_000

    def budget(self, archive_bytes: int) -> int:
        by_ratio = max(self.floor_mb * MB, self.ratio * archive_bytes)
        return min(by_ratio, self.upload_multiple * self.max_upload_mb * MB)


def extract(archive: Path, target: Path, limits: ArchiveLimits) -> None:
    """Unpack ``archive`` into ``target`` within ``limits``; IngestError otherwise."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > limits.max_members:
                raise IngestError(
                    f"{archive.name} holds {len(members)} files; at most "
                    f"{limits.max_members} are accepted"
                )
            for member in members:
                _check_member(archive.name, member)
            budget = limits.budget(archive.stat().st_size)
            written = 0
            for member in members:
                written = _copy_member(zf, member, target, written, budget, archive.name)
    except zipfile.BadZipFile as exc:
        raise IngestError(f"{archive.name}: not a readable zip archive ({exc})") from exc
    except (OSError, EOFError, RuntimeError, NotImplementedError) as exc:  # e.g. encrypted
        raise IngestError(f"{archive.name}: cannot be unpacked ({type(exc).__name__})") from exc


def _check_member(archive: str, member: zipfile.ZipInfo) -> None:
    name = member.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    escapes = name.startswith(("/", "\\")) or ".." in parts or bool(DRIVE.match(name))
    if escapes or "\x00" in name:
        raise IngestError(f"{archive}: member {name[:100]!r} escapes the archive; refused")
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise IngestError(f"{archive}: member {name[:100]!r} is a symbolic link; refused")


def _copy_member(
    zf: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    target: Path,
    written: int,
    budget: int,
    archive: str,
) -> int:
    destination = target.joinpath(*PurePosixPath(member.filename.replace("\\", "/")).parts)
    if member.is_dir():
        destination.mkdir(parents=True, exist_ok=True)
        return written
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(member) as source, destination.open("wb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > budget:
                raise IngestError(
                    f"{archive} unpacks to more than {budget // MB} MB, the most accepted for "
                    "an archive of its size (100:1, at most 10 × ONEMAP_MAX_UPLOAD_MB); refused"
                )
            out.write(chunk)
    return written
