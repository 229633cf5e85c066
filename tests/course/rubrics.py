"""The mark schemes of the solution notebooks: every manually graded cell (a written answer or a
task) carries a rubric, a table of criteria and their points inside its ``=== BEGIN MARK SCHEME ===``
block, which nbgrader's release strips (a written answer is replaced as a whole); the parser is the
one that shows the rubrics to graders (:mod:`autograder.classroom.rubrics`)."""

from __future__ import annotations

import nbformat

from autograder.classroom.rubrics import cell_rubric
from tests.course.notebooks import SOLUTIONS, nbgrader_meta


def manual_cells(name: str) -> list:
    """The manually graded cells of ``name``'s solution notebook: written answers and tasks."""
    nb = nbformat.read(SOLUTIONS / name / f"{name}.ipynb", as_version=4)
    return [cell for cell in nb.cells
            if nbgrader_meta(cell).get("task")
            or (nbgrader_meta(cell).get("grade") and nbgrader_meta(cell).get("solution") and cell.cell_type == "markdown")]


def rubric(cell) -> dict[str, float]:
    """criterion -> points, read from the table in the cell's mark-scheme block."""
    found = cell_rubric(cell)
    return found.criteria if found else {}
