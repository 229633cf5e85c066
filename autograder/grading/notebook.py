"""Read a submitted notebook defensively and put the released read-only cells back.

A submission may be anything: not JSON, not a notebook, huge, or a notebook whose locked cells
and test cells (and their points) were edited. Locked and test cells are restored from the
released notebook by ``grade_id`` before the notebook runs, like nbgrader's OverwriteCells; the
points never come from the submission at all (they come from the solution notebook).
"""

from __future__ import annotations

import copy

import nbformat

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


class NotebookError(Exception):
    """The submission cannot be read as a notebook (the message says why, in one line)."""


def read_submission(data: bytes):
    """Parse submitted bytes into a version-4 notebook with well-formed cells."""
    if len(data) == 0:
        raise NotebookError("the file is empty")
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"the file is larger than {MAX_NOTEBOOK_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookError("the file is not UTF-8 text") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many types for garbage
        raise NotebookError(f"not a Jupyter notebook ({type(exc).__name__})") from None
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise NotebookError("not a Jupyter notebook (no list of cells)")
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise NotebookError("not a Jupyter notebook (a cell without a valid type)")
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(str(part) for part in cell["source"])
        if not isinstance(cell.get("source"), str):
            raise NotebookError("not a Jupyter notebook (a cell whose source is not text)")
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = nbformat.NotebookNode()
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def restore_locked_cells(nb, released):
    """Return a copy of ``nb`` whose locked and test cells carry the released source and metadata."""
    originals = {}
    for cell in released.cells:
        meta = _nbgrader(cell)
        if meta.get("grade_id") and (meta.get("locked") or meta.get("grade")) and not meta.get("solution"):
            originals[meta["grade_id"]] = cell
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.cells):
        grade_id = _nbgrader(cell).get("grade_id")
        if isinstance(grade_id, str) and grade_id in originals:
            original = copy.deepcopy(originals[grade_id])
            if original.cell_type == "code":
                original.outputs, original.execution_count = [], None
            nb.cells[index] = original
    return nb
