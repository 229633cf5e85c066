"""Lecture material: every notebook runs and draws its figures, the index links everything,
and the committed notebooks carry no outputs (so the repository holds no binary figures)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

LECTURES = Path(__file__).resolve().parents[2] / "lectures"
INDEX = LECTURES / "README.md"
NOTEBOOKS = sorted(p for p in LECTURES.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
NOTES = sorted(p for p in LECTURES.rglob("*.md") if p != INDEX)
# Only guards against a hung kernel; the notebooks take seconds (see lectures/README.md).
CELL_TIMEOUT = 300
# The Agg-based inline backend: it needs no display and, unlike plain "Agg", turns every
# figure shown by a cell into an image/png output, which is what we check for.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".pdf", ".webp", ".bmp", ".tif", ".tiff"}
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _ids(path: Path) -> str:
    return path.relative_to(LECTURES).as_posix()


def _local_links(markdown: str) -> list[str]:
    """Link targets that point into the repository (no URLs, no in-page anchors)."""
    targets = [t.split("#")[0] for t in LINK.findall(markdown)]
    return [t for t in targets if t and not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def test_lecture_has_notebooks_and_notes():
    assert len(NOTEBOOKS) >= 4, f"expected at least 4 lecture notebooks, found {len(NOTEBOOKS)}"
    assert INDEX.is_file() and NOTES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs_and_draws_figures(path, tmp_path, monkeypatch, record_property, data_env):
    """Runs in a temporary folder; the failure-cases notebook reads the prepared homework data."""
    monkeypatch.setenv("MPLBACKEND", INLINE_BACKEND)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # any file a notebook writes lands here
    )
    start = time.perf_counter()
    client.execute(env={**os.environ, **data_env})  # raises CellExecutionError, naming the cell, if a cell fails
    record_property("seconds", round(time.perf_counter() - start, 1))

    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    errors = [out for out in outputs if out.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0].ename}: {errors[0].evalue}"
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert images, f"{path.name} ran but drew no figure (no image/png output)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_committed_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs; clear them before committing"
    attached = [i for i, cell in enumerate(nb.cells) if cell.get("attachments")]
    assert not attached, f"{path.name}: cells {attached} embed attachments"


def test_no_binary_figures_committed():
    binaries = [_ids(p) for p in LECTURES.rglob("*") if p.suffix.lower() in BINARY_SUFFIXES]
    assert not binaries, f"figures must be drawn by the notebooks, not committed: {binaries}"


def test_index_links_every_notebook_and_notes_page():
    linked = {(LECTURES / target).resolve() for target in _local_links(INDEX.read_text())}
    missing = [_ids(p) for p in NOTEBOOKS + NOTES if p.resolve() not in linked]
    assert not missing, f"lectures/README.md does not link: {missing}"


def test_relative_links_resolve():
    """Every repository link in the notes and in the notebooks' markdown points at a file."""
    sources = [(p, p.read_text()) for p in [INDEX, *NOTES]]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        sources += [(path, cell.source) for cell in nb.cells if cell.cell_type == "markdown"]
    broken = [f"{_ids(path)} -> {target}" for path, text in sources
              for target in _local_links(text) if not (path.parent / target).exists()]
    assert not broken, f"broken links: {broken}"
