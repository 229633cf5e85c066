"""The course as nbgrader sees it: configuration, folders, released notebooks, submissions.

Everything is derived from the course's ``nbgrader_config.py`` (see :mod:`autograder.config`)
so that our commands and nbgrader's own (``generate_feedback``, ``export``, formgrader) read and
write the same gradebook and the same ``submitted/``, ``autograded/`` and ``feedback/`` folders.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from autograder import paths
from autograder.config import load_course_config
from autograder.errors import UserError
from autograder.grading.submissions import Submission, read_timestamp


class Course:
    """An nbgrader course directory, with its gradebook URL.

    ``db_url`` overrides the gradebook (e.g. ``postgresql+psycopg://...`` when several
    machines grade); the default is nbgrader's ``sqlite:///<root>/gradebook.db``.
    """

    def __init__(self, root: Path | None = None, db_url: str | None = None):
        from nbgrader.coursedir import CourseDirectory  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

        self.root = Path(root or paths.course_root()).resolve()
        self.config = load_course_config(self.root)
        if db_url:
            self.config.CourseDirectory.db_url = db_url
        self.coursedir = CourseDirectory(config=self.config)
        self.db_url: str = self.coursedir.db_url

    def folder(self, step: str, student: str, assignment: str) -> Path:
        """nbgrader's folder of ``step`` (e.g. ``autograded_directory``) for one student."""
        return Path(self.coursedir.format_path(getattr(self.coursedir, step), student, assignment))

    def release_folder(self, assignment: str) -> Path:
        """Where the released (student) notebooks of ``assignment`` are."""
        return self.folder("release_directory", ".", assignment)

    def source_folder(self, assignment: str) -> Path:
        """Where the reference (nbgrader source) notebooks of ``assignment`` are."""
        return self.folder("source_directory", ".", assignment)

    def released_notebooks(self, assignment: str) -> dict[str, Path]:
        """Notebook id -> released notebook path; a clear error when the assignment is not released."""
        folder = self.release_folder(assignment)
        found = {p.stem: p for p in sorted(folder.glob("*.ipynb"))}
        if not found:
            raise UserError(f"assignment {assignment!r} is not released ({folder} has no notebook); "
                            f"run `autograder release {assignment}` first")
        return found

    def source_notebooks(self, assignment: str) -> dict[str, Path]:
        """Notebook id -> reference (source) notebook path."""
        return {p.stem: p for p in sorted(self.source_folder(assignment).glob("*.ipynb"))}

    def submitted_root(self) -> Path:
        """nbgrader's ``submitted/`` folder."""
        return self.root / self.coursedir.submitted_directory

    def find_submissions(self, assignment: str) -> list[Submission]:
        """Every ``submitted/<student>/<assignment>/<notebook>.ipynb`` named as a released notebook
        (as nbgrader does: an extra "p1 copy.ipynb" is not graded), sorted by student."""
        return self.split_extra(assignment, self.submitted_notebooks(assignment))[0]

    def split_extra(self, assignment: str, submissions: list[Submission]) -> tuple[list[Submission], list[Submission]]:
        """(submissions of released notebooks, extra ones); all kept when nothing is released."""
        released = {p.stem for p in self.release_folder(assignment).glob("*.ipynb")}
        if not released:
            return list(submissions), []
        return ([s for s in submissions if s.notebook in released],
                [s for s in submissions if s.notebook not in released])

    def submitted_notebooks(self, assignment: str) -> list[Submission]:
        """Every ``submitted/<student>/<assignment>/*.ipynb``, extra notebooks included."""
        found = []
        root = self.submitted_root()
        if not root.is_dir():
            return found
        for student_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            folder = student_dir / assignment
            if not folder.is_dir():
                continue
            timestamp = read_timestamp(folder)
            for nb in sorted(folder.glob("*.ipynb")):
                found.append(Submission(student_dir.name, nb.stem, nb, timestamp))
        return found

    def sqlite_path(self) -> Path | None:
        """The gradebook's file when it is SQLite (else None)."""
        url = make_url(self.db_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database)
        return None


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it 0700: grading state is the instructor's only."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, stat.S_IRWXU)
    return path
