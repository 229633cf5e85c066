"""The graders' rubrics: each manually graded cell's mark scheme, shown in formgrader, never to students.

A manually graded cell of a solution notebook (a written answer or a task) carries its rubric, a
table of criteria and their points, inside a ``=== BEGIN MARK SCHEME ===`` block that the release
strips. The autograded notebook, which formgrader shows the grader, gets each rubric as a markdown
cell of its own right after the student's cell (:func:`with_rubrics`), read from the solution
notebook alone: nothing of it is spliced from the submission. That cell has no nbgrader metadata
(nbgrader's grade ids, checksums and scores ignore it) and is marked by
``metadata.autograder_rubric`` (the grade_id); what students get drops it: our feedback
(:func:`without_rubrics`) and nbgrader's ``generate_feedback`` (:class:`RemoveRubricCells`, put
first in ``GenerateFeedback.preprocessors`` by the course's ``nbgrader_config.py``). A course whose
configuration does not do that gets no rubric cells (:func:`strips_rubrics`).
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool
from traitlets.config import Config

from autograder.grading.redact import MARK_SCHEME, hidden_blocks

MARK = "autograder_rubric"  # cell metadata key: the grade_id whose rubric the cell shows
ROW = re.compile(r"^\|\s*(?P<criterion>.+?)\s*\|\s*(?P<points>\d+(?:\.\d+)?)\s*\|$")


@dataclasses.dataclass(frozen=True)
class Rubric:
    """The mark scheme of one graded cell: its markdown (a table of criteria and points)."""

    grade_id: str
    text: str

    @property
    def criteria(self) -> dict[str, float]:
        """criterion -> points, read from the rows of the table (the header row has no number)."""
        rows = (ROW.match(line.strip()) for line in self.text.splitlines())
        return {m["criterion"]: float(m["points"]) for m in rows if m}


def cell_rubric(cell) -> Rubric | None:
    """The rubric in the mark-scheme block of one solution-notebook cell (None without one)."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    text = "\n".join(hidden_blocks(cell.get("source", ""), [MARK_SCHEME])).strip()
    return Rubric(grade_id, text) if grade_id and text else None


def read_rubrics(source: Path) -> dict[str, Rubric]:
    """grade_id -> rubric of every cell with a mark scheme in the solution notebook ``source``."""
    found: dict[str, Rubric] = {}
    for cell in nbformat.read(source, as_version=4).cells:
        rubric = cell_rubric(cell)
        if rubric:
            found.setdefault(rubric.grade_id, rubric)
    return found


class RemoveRubricCells(Preprocessor):
    """nbconvert preprocessor dropping the rubric cells (nbgrader's ``generate_feedback`` runs it)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        """The notebook without its rubric cells."""
        return without_rubrics(nb), resources


def strips_rubrics(config: Config) -> bool:
    """Whether nbgrader's ``generate_feedback``, configured by ``config``, removes rubric cells."""
    section = config.get("GenerateFeedback") or {}
    return RemoveRubricCells in list(section.get("preprocessors", []))


def course_rubrics(source: Path | None, config: Config) -> dict[str, Rubric]:
    """The rubrics to show graders for one notebook: those of its solution notebook ``source``, or
    none (with a warning) when the course's nbgrader ``generate_feedback`` would show them."""
    if source is None or not source.is_file():
        return {}
    found = read_rubrics(source)
    if found and not strips_rubrics(config):
        warnings.warn("the rubrics are not added for formgrader: the course's nbgrader_config.py does not put "
                      "RemoveRubricCells in GenerateFeedback.preprocessors (see this repository's)", stacklevel=2)
        return {}
    return found


def is_rubric_cell(cell) -> bool:
    """Whether ``cell`` is a rubric cell."""
    return MARK in cell.get("metadata", {})


def _rubric_cell(rubric: Rubric, taken: set, with_id: bool):
    heading = (f"**Rubric of `{rubric.grade_id}`** (for graders, from the solution notebook: "
               "students never see this cell)\n\n")
    cell = nbformat.v4.new_markdown_cell(heading + rubric.text)
    cell.metadata[MARK] = rubric.grade_id
    while cell.get("id") in taken:
        cell.id = nbformat.v4.new_markdown_cell().id
    if not with_id:
        del cell["id"]
    return cell


def with_rubrics(nb, rubrics: dict[str, Rubric]):
    """``nb`` with each rubric in a cell right after the first cell of its grade_id; a cell the
    submission itself marked as a rubric loses the mark (it stays the student's ordinary cell)."""
    for cell in nb.cells:
        cell.get("metadata", {}).pop(MARK, None)
    pending = dict(rubrics)
    taken = {cell.get("id") for cell in nb.cells}
    with_ids = (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in pending:
            cells.append(_rubric_cell(pending.pop(grade_id), taken, with_ids))
            taken.add(cells[-1].get("id"))
    nb.cells = cells
    return nb


def without_rubrics(nb):
    """``nb`` without its rubric cells."""
    nb.cells = [cell for cell in nb.cells if not is_rubric_cell(cell)]
    return nb
