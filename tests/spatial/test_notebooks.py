"""The worked-example notebooks run top to bottom as an analyst runs them — against a OneMap
URL with a publisher token, over HTTP only — and draw every figure they declare.

A notebook declares its figures by tagging each drawing cell ``figure`` and their number in
its metadata (``onemap.figures``). A tagged cell that produced no PNG, a count that does not
match, or a figure not followed by a paragraph reading it fails the test, naming the cell.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import PUBLISHER_TOKEN

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 120


def figure_problems(notebook: Any, name: str) -> list[str]:
    """What is missing: figures not drawn, a wrong declared count, a figure left unread."""
    cells = notebook.cells
    tagged = [i for i, c in enumerate(cells) if "figure" in c.metadata.get("tags", [])]
    problems = []
    declared = notebook.metadata.get("onemap", {}).get("figures")
    if declared != len(tagged):
        problems.append(f"{name}: declares {declared} figures, tags {len(tagged)} cells")
    for i in tagged:
        images = [o for o in cells[i].get("outputs", []) if "image/png" in o.get("data", {})]
        first_line = cells[i].source.splitlines()[0] if cells[i].source else ""
        if not images:
            problems.append(f"{name} cell {i} ({first_line!r}) drew no figure")
        following = cells[i + 1] if i + 1 < len(cells) else None
        if i + 1 not in tagged and (following is None or following.cell_type != "markdown"):
            problems.append(f"{name} cell {i} ({first_line!r}): no paragraph reads its figure")
    return problems


def test_figure_check_names_what_is_missing() -> None:
    notebook = nbformat.v4.new_notebook(metadata={"onemap": {"figures": 2}})
    drawn = nbformat.v4.new_code_cell("show(fig)", metadata={"tags": ["figure"]})
    drawn.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR"})]
    blank = nbformat.v4.new_code_cell("plot()", metadata={"tags": ["figure"]})
    notebook.cells = [drawn, nbformat.v4.new_markdown_cell("It says…"), blank]
    assert figure_problems(notebook, "x.ipynb") == [
        "x.ipynb cell 2 ('plot()') drew no figure",
        "x.ipynb cell 2 ('plot()'): no paragraph reads its figure",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_draws_its_figures(
    path: Path, live_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEMAP_URL", live_url)  # the kernel uses this server and nothing else
    monkeypatch.setenv("ONEMAP_TOKEN", PUBLISHER_TOKEN)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    assert figure_problems(notebook, path.name) == []
