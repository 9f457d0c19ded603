"""Start and stop a one-shot ``onemap ingest`` process quickly.

Ingest never touches pandas, but pyogrio (its version checks) and pyarrow (its pandas
shim, on the first ``pa.array``) import it eagerly when it is installed: ~0.15 s of a
run whose reference, ogr2ogr, starts in 0.06 s. While the block runs, ``import pandas``
fails as if it were absent, so both record "no pandas" and never ask again.

Only a fresh process is treated so: if pyarrow or pyogrio were imported already (the
server, a test session, a notebook), their view of pandas is left alone, and
``exit_now`` is never called there.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from types import ModuleType

_WATCHERS = ("pandas", "pyarrow", "pyogrio")


class _HidePandas:
    """A meta-path finder that answers every ``import pandas`` with ModuleNotFoundError."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"pandas is not used by ingest ({name})", name=name)
        return None


def fresh_process() -> bool:
    """True before the data stack is imported: this process does nothing but this command."""
    return not any(module in sys.modules for module in _WATCHERS)


@contextmanager
def pandas_hidden() -> Iterator[None]:
    if not fresh_process():
        yield
        return
    finder = _HidePandas()
    sys.meta_path.insert(0, finder)
    try:
        with collector_paused():
            yield
            _settle_pyarrow()
    finally:
        sys.meta_path.remove(finder)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while importing; what was imported is then frozen.

    Imports create objects by the hundred thousand and no garbage; collections during
    them cost ~10% of the time, and frozen objects are skipped by every later one.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def _settle_pyarrow() -> None:
    """pyarrow looks for pandas on its first conversion from Python: do one now, hidden."""
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.array([0])


def exit_now() -> None:
    """End a finished one-shot process without tearing down the data stack.

    Freeing GDAL, PROJ, Arrow and GEOS state at exit takes ~0.1 s and serves no one:
    the database work is committed and every file is closed by then.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
