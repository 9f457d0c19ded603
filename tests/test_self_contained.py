"""The product, its tests, notebooks and benchmarks read nothing outside the checkout."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("layers", "ingest", "tiles", "spatial", "ogc", "tests", "notebooks", "bench")
SUFFIXES = {".py", ".ipynb", ".sql", ".toml", ".cfg", ".ini"}
# A sibling folder of the checkout, or an absolute path into this machine's work area.
OUTSIDE = re.compile(r"\.\./shared|[\"'/]shared/data|[\"']/work/|parents\[(?:[3-9]|\d\d)\]")


def test_no_source_file_reaches_outside_the_checkout() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in SCANNED
        for path in sorted((ROOT / folder).rglob("*"))
        if path.suffix in SUFFIXES and path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_every_fixture_folder_the_tests_name_is_in_the_checkout() -> None:
    from tests.ingest import builders

    for folder in (builders.SHARED, builders.TEST_DATA, builders.GBK_DIR):
        assert folder.is_relative_to(ROOT) and any(folder.iterdir()), folder
