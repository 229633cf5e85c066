"""What a student wrote in a notebook: the code of its solution cells and the text of its
written-answer cells, nothing else.

Cells are the released notebook's nbgrader solution cells, found in the submission by ``grade_id``
(its first cell of each id, of the released cell type): outputs, metadata, locked and test cells and
cells a student added never count. A cell whose text is still the released one is left out, so a
student who left the template untouched has nothing to compare; what remains of the template in an
answered cell (signatures, docstrings) is left to the engine's boilerplate exclusion (:func:`template_work`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.errors import UserError
from autograder.grading.structure import grade_id_of, nbgrader_info


@dataclass(frozen=True)
class Work:
    """One student's own writing: ``code`` (Python, one block per solution cell) and ``text``."""

    student: str
    code: str
    text: str

    @property
    def empty(self) -> bool:
        """True when the student wrote nothing of their own."""
        return not (self.code.strip() or self.text.strip())


def _source(cell) -> str:
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    if isinstance(source, list):
        source = "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def solution_cells(released) -> dict[str, str]:
    """grade_id -> cell type of the released notebook's solution cells, in the released order."""
    cells: dict[str, str] = {}
    for cell in released.cells:
        grade_id = grade_id_of(cell)
        if grade_id and nbgrader_info(cell).get("solution") is True and grade_id not in cells:
            cells[grade_id] = cell.cell_type
    return cells


def _blocks(notebook, released_text: dict[str, str], kinds: dict[str, str], kind: str) -> str:
    """The student's cells of ``kind`` that differ from the release, each under a header line."""
    found: dict[str, str] = {}
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    for cell in cells if isinstance(cells, list) else []:
        grade_id = grade_id_of(cell)
        if kinds.get(grade_id) == kind and cell.get("cell_type") == kind and grade_id not in found:
            found[grade_id] = _source(cell)
    blocks = []
    for grade_id in kinds:
        text = found.get(grade_id, "")
        if kinds[grade_id] == kind and text.strip() and _normal(text) != _normal(released_text[grade_id]):
            header = f"# ---- {grade_id} ----" if kind == "code" else f"---- {grade_id} ----"
            blocks.append(f"{header}\n{text.rstrip()}\n")
    return "\n".join(blocks)


class Template:
    """The released notebook of an assignment: which cells count, and their released text."""

    def __init__(self, released_path: Path):
        released = nbformat.read(released_path, as_version=4)
        self.kinds = solution_cells(released)
        if not self.kinds:
            raise UserError(f"{released_path} has no nbgrader solution cells to compare")
        self.text = {grade_id_of(c): _source(c) for c in reversed(released.cells) if grade_id_of(c) in self.kinds}

    def work(self, student: str, notebook) -> Work:
        """What ``student`` wrote in ``notebook`` (a dict as read from JSON)."""
        return Work(student, _blocks(notebook, self.text, self.kinds, "code"),
                    _blocks(notebook, self.text, self.kinds, "markdown"))

    def template_work(self) -> Work:
        """The released cells themselves, as the engine's boilerplate."""
        code = "\n".join(f"{self.text[g].rstrip()}\n" for g, kind in self.kinds.items() if kind == "code")
        text = "\n".join(f"{self.text[g].rstrip()}\n" for g, kind in self.kinds.items() if kind == "markdown")
        return Work("(template)", code, text)


def read_work(template: Template, student: str, path: Path) -> Work:
    """The student's work in the notebook at ``path``; an unreadable notebook counts as empty."""
    try:
        notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    except Exception:  # noqa: BLE001 - any garbage file: the student simply has nothing to compare
        return Work(student, "", "")
    return template.work(student, notebook)
