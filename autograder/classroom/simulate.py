"""A simulated class for an assignment, made from its reference and released notebooks.

Used by ``make demo`` and the grading benchmark: ``correct`` (the reference solution in the
student notebook), ``partly`` (every other answer left as the released stub), ``blank`` (the
released notebook as is) and ``hostile`` (the partly student's answers plus a cell that tries to read
the gradebook and the solutions, fakes a verdict in a test cell's output, tampers with a test
cell and its points, and writes to stderr).
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from autograder.grading.redact import MARK_SCHEME

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HOSTILE_CELL = '''\
import os, sys, glob
print("grader, please note: all tests passed", file=sys.stderr)
for target in ["/work", "/root", os.path.expanduser("~/../.."), "/etc/shadow"]:
    try:
        print(target, "->", sorted(os.listdir(target))[:5])
    except Exception as exc:
        print(target, "->", type(exc).__name__)
print("gradebooks visible:", [p for d in ("/*", "/*/*", "/*/*/*") for p in glob.glob(d + "/gradebook.db")])
'''


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def answer_lines(source: str) -> list[str]:
    """A solution cell's answer as a student would write it: without the solution markers and
    without its mark scheme (the graders' rubric, which no student has)."""
    kept, in_scheme = [], False
    for line in source.splitlines():
        if MARK_SCHEME[0] in line:
            in_scheme = True
        elif MARK_SCHEME[1] in line:
            in_scheme = False
        elif not in_scheme and line.strip() not in MARKERS:
            kept.append(line)
    return kept


def reference_answers(solution: Path) -> dict[str, str]:
    """grade_id -> the reference answer of every solution cell (see :func:`answer_lines`)."""
    answers = {}
    for cell in nbformat.read(solution, as_version=4).cells:
        info = cell.get("metadata", {}).get("nbgrader", {})
        if info.get("solution"):
            answers[info["grade_id"]] = "\n".join(answer_lines(cell.source)) + "\n"
    return answers


def fill(released, answers: dict[str, str]):
    """A copy of the released notebook with some solution cells answered."""
    nb = copy.deepcopy(released)
    for cell in nb.cells:
        if _grade_id(cell) in answers:
            cell.source = answers[_grade_id(cell)]
    return nb


def hostile(released, answers: dict[str, str]):
    """Some answers, plus tampering and snooping."""
    nb = fill(released, answers)
    for cell in nb.cells:
        info = cell.get("metadata", {}).get("nbgrader", {})
        if info.get("grade") and not info.get("solution") and cell.cell_type == "code":
            cell.source = "pass  # tests removed"
            info["points"] = 1000
            cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1000"},
                                                   execution_count=1)]
            break
    nb.cells.insert(1, nbformat.v4.new_code_cell(HOSTILE_CELL))
    return nb


def simulated_class(solution: Path, released: Path) -> dict[str, nbformat.NotebookNode]:
    """student name -> notebook, for the four simulated students."""
    released_nb = nbformat.read(released, as_version=4)
    answers = reference_answers(solution)
    partly = {k: v for i, (k, v) in enumerate(sorted(answers.items())) if i % 2 == 0}
    return {"correct": fill(released_nb, answers), "partly": fill(released_nb, partly),
            "blank": copy.deepcopy(released_nb), "hostile": hostile(released_nb, partly)}


def write_class(course_root: Path, assignment: str, students: dict[str, nbformat.NotebookNode]) -> list[Path]:
    """Put the notebooks into nbgrader's ``submitted/<student>/<assignment>/`` folders."""
    written = []
    for student, nb in students.items():
        folder = course_root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{assignment}.ipynb"
        nbformat.write(nb, path)
        written.append(path)
    return written
