"""Notebooks handed in by the hand-in tests, made from the course's real xor notebooks.

``correct()``  the released notebook with every answer cell taken from the solution;
``broken()``   the same with ``make_xor_data`` returning the wrong shape (its visible test fails);
``hostile()``  the correct one plus cells of the hostile suite (tests/grading/hostile_cases.py):
               assertion helpers replaced, a fork bomb, a daemon, and a wrong answer in every
               answer cell, so that it earns nothing.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import nbformat

from tests.courses.experiments import without_manual_experiments
from tests.grading.hostile_cases import DAEMON, FORK_BOMB, PATCH_ASSERTS

REPO = Path(__file__).resolve().parents[2]
PAST_DUE = datetime(2026, 1, 5, 12, 0)  # activations' due date in the hand-in course (tests/web/conftest.py)
WRONG_SHAPE = "def make_xor_data(n_per_corner=50, noise=0.15, seed=0):\n    import numpy as np\n    return np.zeros((3, 3)), np.zeros(3)"


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def released(course: Path, name: str = "xor"):
    return nbformat.read(course / "assignments" / name / f"{name}.ipynb", as_version=4)


def _with_answers(course: Path, answers: dict[str, str] | None = None):
    """The released xor notebook with the solution's answers (``answers`` replaces some by grade_id)."""
    solution = {_grade_id(c): c.source for c in nbformat.read(REPO / "solutions" / "xor" / "xor.ipynb", as_version=4).cells
                if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    nb = released(course)
    for cell in nb.cells:
        grade_id = _grade_id(cell)
        if grade_id in solution:
            cell.source = (answers or {}).get(grade_id, solution[grade_id])
    return without_manual_experiments(nb)


def as_bytes(nb) -> bytes:
    return json.dumps(nb).encode()


def correct(course: Path) -> bytes:
    return as_bytes(_with_answers(course))


def broken(course: Path) -> bytes:
    return as_bytes(_with_answers(course, {"make_xor_data": WRONG_SHAPE}))


def hostile(course: Path) -> bytes:
    nb = released(course)
    answers = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution") and c.cell_type == "code"]
    for cell in answers:
        cell.source = "raise SystemExit('no answer here')"
    nb.cells[1:1] = [nbformat.v4.new_code_cell(source) for source in (PATCH_ASSERTS, FORK_BOMB, DAEMON)]
    return as_bytes(nb)
