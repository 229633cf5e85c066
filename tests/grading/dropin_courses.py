"""Drop-in nbgrader courses for the grading tests: courses set up the way nbgrader's own autograde tests
set them up (``nbgrader/tests/apps/test_nbgrader_autograde.py``), in this repo's layout
(``solutions/`` is nbgrader's source, ``assignments/`` its release), graded by the production
path (:func:`autograder.classroom.grade_class.grade_class`, two workers)."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import nbformat
import nbgrader
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from autograder.classroom.course import Course
from autograder.classroom.grade_class import grade_class
from autograder.classroom.release import release_assignment

REPO = Path(__file__).resolve().parents[2]
NBGRADER_FILES = Path(nbgrader.__file__).parent / "tests" / "apps" / "files"
ASSIGNMENT = "ps1"
DUEDATE = "2015-02-02 14:58:23.948203 America/Los_Angeles"  # the one nbgrader's tests use


@contextmanager
def _cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def make_course(root: Path, notebooks: dict[str, str | nbformat.NotebookNode], config: str = "",
                autotests: bool = False, files: tuple[str, ...] = ()) -> Path:
    """A course whose ``ps1`` has ``notebooks`` (name -> a file of nbgrader's tests or a notebook),
    released by ``autograder release``, with nbgrader's due date."""

    root.mkdir(parents=True, exist_ok=True)
    text = (REPO / "nbgrader_config.py").read_text() + "\n" + config + "\n"
    (root / "nbgrader_config.py").write_text(text)
    folder = root / "solutions" / ASSIGNMENT
    folder.mkdir(parents=True)
    for name, nb in notebooks.items():
        if isinstance(nb, str):
            shutil.copy(NBGRADER_FILES / nb, folder / f"{name}.ipynb")
        else:
            nbformat.write(nb, folder / f"{name}.ipynb")
    for name in files:
        shutil.copy(NBGRADER_FILES / name, folder / name)
    if autotests:  # nbgrader's tests keep autotests.yml in the course root (found from the cwd)
        shutil.copy(NBGRADER_FILES / "autotests.yml", root / "autotests.yml")
    with _cwd(root):
        release_assignment(ASSIGNMENT, root=root)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "mlp-week") as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=parse_utc(DUEDATE))
    return root


def submit(root: Path, student: str, notebook: str, content, timestamp: str | None = None,
           filename: str | None = None) -> Path:
    """Put a notebook (a file of nbgrader's tests, a NotebookNode or bytes) into submitted/."""
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (filename or f"{notebook}.ipynb")
    if isinstance(content, str):
        shutil.copy(NBGRADER_FILES / content, path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        nbformat.write(content, path)
    if timestamp is not None:
        (folder / "timestamp.txt").write_text(timestamp)
    return path


def grade(root: Path, options: dict, **kwargs):
    """Grade every submitted notebook of ``ps1`` (extra ones included: the batch must skip them)."""

    course = Course(root)
    return grade_class(ASSIGNMENT, course.submitted_notebooks(ASSIGNMENT), workers=2, progress=False,
                       course=course, seed=1, options=options, **kwargs)


def notebook_scores(root: Path) -> dict[tuple[str, str], float]:
    """(student, notebook) -> score in the gradebook."""

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {(sub.student.id, nb.name): nb.score for sub in gb.assignment_submissions(ASSIGNMENT)
                for nb in sub.notebooks}


def released(root: Path, notebook: str) -> nbformat.NotebookNode:
    """The released notebook."""
    return nbformat.read(root / "assignments" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4)


def autograded_text(root: Path, student: str, notebook: str) -> str:
    """The autograded notebook's JSON text."""
    return (root / "autograded" / student / ASSIGNMENT / f"{notebook}.ipynb").read_text()
