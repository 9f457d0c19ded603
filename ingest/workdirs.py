"""Temporary folders of ingest runs: one root, named after the owning process, swept.

Every run (CLI, upload, sample loader) works in ``<root>/<pid>-<start>-<tag>-<random>``
and removes it when it ends, whatever the outcome. A run killed outright (SIGKILL, OOM,
power loss) cannot clean up, so each new run first removes the folders of processes
that no longer exist — ``<start>`` (the process start time) tells a dead owner from a
new process that happens to reuse its pid.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OWNED = re.compile(r"^(\d+)-(\d+)-")


def default_root() -> Path:
    return Path(tempfile.gettempdir()) / "onemap-ingest"


@contextmanager
def work_dir(root: Path | None = None, tag: str = "run") -> Iterator[Path]:
    """A fresh folder under ``root`` for this process, removed on the way out."""
    base = root or default_root()
    base.mkdir(parents=True, exist_ok=True)
    sweep(base)
    pid = os.getpid()
    path = Path(tempfile.mkdtemp(prefix=f"{pid}-{_started(pid)}-{tag}-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep(root: Path) -> list[Path]:
    """Remove the folders under ``root`` whose owning process is gone; return them."""
    removed: list[Path] = []
    try:
        children = list(root.iterdir())
    except OSError:
        return removed
    for child in children:
        match = OWNED.match(child.name)
        if match is None or _alive(int(match.group(1)), int(match.group(2))):
            continue
        shutil.rmtree(child, ignore_errors=True)
        removed.append(child)
    return removed


def _alive(pid: int, started: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, run by someone else
    fields = _stat(pid)
    if len(fields) <= 19 or started == 0:
        return True  # no /proc to tell: the pid alone says it lives
    return fields[0] not in ("Z", "X") and int(fields[19]) == started


def _started(pid: int) -> int:
    """The process start time in clock ticks since boot (Linux); 0 when unknown."""
    fields = _stat(pid)
    return int(fields[19]) if len(fields) > 19 else 0


def _stat(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` after the command name: state, ppid, …, starttime (index 19)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text.rsplit(")", 1)[-1].split()
