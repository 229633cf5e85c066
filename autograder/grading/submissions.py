"""The submission the grader is handed, and finding the notebooks to grade.

A :class:`Submission` is one notebook of one student. A notebook in nbgrader's layout
``submitted/<student>/<assignment>/<name>.ipynb`` belongs to ``<student>``; any other notebook
is named after its file. A folder means every notebook below it (checkpoints skipped, and in
nbgrader's layout only this assignment's). No path at all means the course's ``submitted/``
folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.errors import UserError


@dataclass(frozen=True)
class Submission:
    """One submitted notebook of one student."""

    student: str
    notebook: str  # notebook name without ``.ipynb`` (nbgrader's notebook id)
    path: Path
    timestamp: str | None = None  # nbgrader's timestamp.txt beside the notebook, when present

    @classmethod
    def of(cls, student: str, path: Path) -> Submission:
        """The submission of ``student`` at ``path``, with the timestamp.txt beside it."""
        return cls(student, Path(path).stem, Path(path), read_timestamp(Path(path).parent))


def read_timestamp(folder: Path) -> str | None:
    """The text of ``folder/timestamp.txt`` (None when it is missing, unreadable or empty)."""
    try:
        return (folder / "timestamp.txt").read_text().strip() or None
    except OSError:
        return None


def _layout_student(path: Path, assignment: str | None = None) -> str | None:
    """``<student>`` when ``path`` is ``submitted/<student>/<assignment>/x.ipynb``."""
    parts = path.parts
    if len(parts) >= 4 and parts[-4] == "submitted" and (assignment is None or parts[-2] == assignment):
        return parts[-3]
    return None


def student_id(path: Path, assignment: str) -> str:
    """The student a notebook belongs to."""
    return _layout_student(path, assignment) or path.stem


def _in_other_assignment(path: Path, assignment: str) -> bool:
    parts = path.parts
    return len(parts) >= 4 and parts[-4] == "submitted" and parts[-2] != assignment


def find_submissions(assignment: str, paths: list[Path], course_root: Path) -> list[Submission]:
    """The submissions named on the command line (or the course's submitted/ folder)."""
    if not paths:
        folder = course_root / "submitted"
        if not folder.is_dir():
            raise UserError(f"no notebooks given and no nbgrader submitted/ folder at {folder}")
        found = sorted(folder.glob(f"*/{assignment}/*.ipynb"))
        if not found:
            raise UserError(f"no submissions of {assignment!r} in {folder} "
                            f"(expected {folder}/<student>/{assignment}/*.ipynb)")
        return [Submission.of(student_id(p, assignment), p) for p in found]
    notebooks: list[Path] = []
    for given in paths:
        given = Path(given)
        if given.is_dir():
            inside = sorted(p for p in given.rglob("*.ipynb")
                            if ".ipynb_checkpoints" not in p.parts and not _in_other_assignment(p, assignment)
                            and not p.is_symlink())
            if not inside:
                raise UserError(f"no notebooks (*.ipynb) in {given}")
            notebooks += inside
        elif given.is_file():
            notebooks.append(given)
        else:
            raise UserError(f"no such file or folder: {given}")
    seen, unique = set(), []
    for path in notebooks:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(Submission.of(student_id(path.absolute(), assignment), path))
    return unique
