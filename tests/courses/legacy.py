"""The ``legacy`` test course: a tiny nbgrader-style course with a simulated class (classroom and
command tests build it; the graded class is the ``graded_class`` fixture of tests/classroom/).

The assignment ``legacy`` is written the usual nbgrader way (plain ``assert`` test cells, visible
and hidden, one partial-credit cell, a manually graded answer with its rubric, a data file read by
a locked cell). It needs no torch, so a sandboxed run takes about a second.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.classroom.course import Course
from autograder.classroom.grade_class import grade_class
from autograder.classroom.release import release_assignment

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "legacy"
HIDDEN_MARK = "hidden-marker-7f3a"

ADD = "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION\n"
MEAN = ("def mean(xs):\n    \"\"\"Arithmetic mean of a non-empty list.\"\"\"\n    ### BEGIN SOLUTION\n"
        "    return sum(xs) / len(xs)\n    ### END SOLUTION\n")
TEST_ADD = (
    "assert add(1, 2) == 3, 'add(1, 2) should be 3'\n"
    "### BEGIN HIDDEN TESTS\n"
    f"assert add(-5, 5) == 0, 'sums with negatives ({HIDDEN_MARK})'\n"
    "assert add(0.5, 0.25) == 0.75 and add(10**6, 1) == 1000001\n"
    "### END HIDDEN TESTS\n"
)
TEST_MEAN = (
    "assert mean([2, 4]) == 3\n"
    "### BEGIN HIDDEN TESTS\n"
    "assert abs(mean(NUMBERS) - 2.5) < 1e-12, 'mean of the data file'\n"
    "assert mean([7]) == 7 and mean([-1, 1]) == 0\n"
    "### END HIDDEN TESTS\n"
)
# nbgrader's partial credit: the cell's value is the points earned.
TEST_PARTIAL = (
    "earned = 0.0\n"
    "earned += 1.0 if add(2, 2) == 4 else 0.0\n"
    "### BEGIN HIDDEN TESTS\n"
    "earned += 1.0 if mean([1, 2, 3, 4]) == 2.5 else 0.0  # partial-credit-check\n"
    "### END HIDDEN TESTS\n"
    "earned\n"
)
SETUP = "import csv\nwith open('numbers.csv') as f:\n    NUMBERS = [float(r['x']) for r in csv.DictReader(f)]\n"
RUBRIC_CRITERION = "an empty list has no elements: the sum is divided by a length of zero"
# The whole written answer is replaced on release (as in this repo's solutions: nbgrader's
# ClearMarkScheme refuses a mark scheme left in a released answer cell).
ANSWER = ("There is nothing to divide by.\n\n=== BEGIN MARK SCHEME ===\n| criterion | points |\n|---|---|\n"
          f"| {RUBRIC_CRITERION} | 1.5 |\n| says that division by zero is undefined | 0.5 |\n"
          "=== END MARK SCHEME ===\n")

ANSWERS_CORRECT = {"add": "def add(a, b):\n    return a + b\n",
                   "mean": "def mean(xs):\n    return sum(xs) / len(xs)\n",
                   "why": "Because dividing by zero is undefined."}
ANSWERS_PARTLY = {"add": "def add(a, b):\n    return a + b\n",
                  "mean": "def mean(xs):\n    return sum(xs) / (len(xs) + 1)\n"}
# What stock nbgrader gives each simulated student (auto-graded points out of 7).
EXPECTED = {"correct": 7.0, "partly": 3.0, "blank": 0.0}


def _cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "solution": False, "grade": False,
                                     "locked": False, "task": False, **nbgrader}
    return cell


def make_course(root: Path) -> Path:
    """Write a course (this repo's nbgrader_config.py + solutions/legacy/) under ``root``."""
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("markdown", "# Legacy\nAn nbgrader-style assignment. Last: why is the mean undefined for an empty list?",
              grade_id="intro", locked=True),
        _cell("code", SETUP, grade_id="setup", locked=True),
        _cell("code", ADD, grade_id="add", solution=True),
        _cell("code", TEST_ADD, grade_id="test_add", grade=True, locked=True, points=2),
        _cell("code", MEAN, grade_id="mean", solution=True),
        _cell("code", TEST_MEAN, grade_id="test_mean", grade=True, locked=True, points=3),
        _cell("code", TEST_PARTIAL, grade_id="test_partial", grade=True, locked=True, points=2),
        _cell("markdown", ANSWER, grade_id="why", solution=True, grade=True, points=2),
    ]
    folder = root / "solutions" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    (folder / "numbers.csv").write_text("x\n1\n2\n3\n4\n")
    return root


def release(root: Path) -> Path:
    """Release the assignment with nbgrader (into ``root``'s gradebook); return the notebook."""
    return release_assignment(ASSIGNMENT, root=root) / f"{ASSIGNMENT}.ipynb"


def answered(released: Path, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The released notebook with some solution cells filled in."""
    nb = nbformat.read(released, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def copy_course(src: Path, dst: Path) -> Path:
    """A copy of the course at ``src`` (a fixture's course is read-only); returns ``dst``."""
    shutil.copytree(src, dst)
    return dst


def submit(root: Path, student: str, content, assignment: str = ASSIGNMENT) -> Path:
    """Put a notebook (NotebookNode or raw bytes) into submitted/<student>/<assignment>/."""
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        nbformat.write(content, path)
    return path


def simulated_class(root: Path) -> dict[str, Path]:
    """Release the assignment and submit correct, partly wrong and blank notebooks."""
    released = release(root)
    return {
        "correct": submit(root, "correct", answered(released, ANSWERS_CORRECT)),
        "partly": submit(root, "partly", answered(released, ANSWERS_PARTLY)),
        "blank": submit(root, "blank", nbformat.read(released, as_version=4)),
    }


# A student whose code makes hidden test lines show up in tracebacks and who prints the
# kernel's input history (which, nbgrader-style, holds the hidden tests that ran).
LEAKER_MEAN = ("def mean(xs):\n    if len(xs) == 1:\n        raise ValueError('one element')\n"
               "    return sum(xs) / len(xs)\n")
LEAKER_EXTRA = "print('\\n'.join(In))\nimport traceback\nprint(_ih[-3:])\n"
EXPECTED_LEAKER = 4.0


def leaker(released: Path) -> nbformat.NotebookNode:
    """A submission that tries to get hidden tests into its outputs."""
    nb = answered(released, {**ANSWERS_CORRECT, "mean": LEAKER_MEAN})
    nb.cells.append(nbformat.v4.new_code_cell(LEAKER_EXTRA))
    return nb


def grade(root: Path, workers: int = 2, **kwargs):
    """Grade every submission of the course at ``root`` with the batch runner; return the report."""
    course = Course(root, kwargs.pop("db_url", None))
    return grade_class(ASSIGNMENT, course.find_submissions(ASSIGNMENT), workers=workers, progress=False,
                       course=course, **kwargs)


def db_url(root: Path) -> str:
    """The SQLite gradebook URL of the course at ``root``."""
    return f"sqlite:///{root / 'gradebook.db'}"


def auto_scores(root: Path) -> dict[str, dict[str, float | None]]:
    """student -> grade cell -> auto score, read from the course's gradebook."""
    with Gradebook(db_url(root)) as gb:
        return {sub.student.id: {g.name: g.auto_score for g in sub.notebooks[0].grades}
                for sub in gb.assignment_submissions(ASSIGNMENT)}
