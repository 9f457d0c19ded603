"""The ``onemap`` command's entry point: start-up without the cyclic garbage collector.

Importing the CLI (and, for ``onemap ingest``, the data stack) creates a few hundred
thousand objects, none of them garbage; the collector walking them again and again is
about a tenth of the start-up (~35 ms of a one-shot ingest). ``ogc.cli.lean_imports``
pauses it while importing and freezes what was imported out of later collections.
"""

from __future__ import annotations

from ogc.cli.lean_imports import collector_paused


def main() -> None:
    with collector_paused():
        from ogc.cli.main import main as run_cli
    run_cli()
