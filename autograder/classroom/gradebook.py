"""nbgrader's gradebook as the system of record, made safe to keep, plus our completion log.

* :func:`prepare_gradebook` makes sure the assignment is in the gradebook (recorded from the
  released notebooks when a fresh database such as a new PostgreSQL one lacks it), replaces the
  stored copy of every cell with what students were given (nbgrader's ``source_cell`` table
  otherwise keeps the hidden tests and mark schemes in clear), and makes an SQLite gradebook
  0600. Checksums stay those of the released cells, so nbgrader's restore of tampered locked
  and test cells keeps working.
* :class:`ResultStore` keeps one row per graded submission (``autograder_result``: its
  :class:`~autograder.grading.results.SubmissionResult` as JSON, the run's seed) in the same
  database. The row is written last, after nbgrader's own rows: a submission without it was not
  (completely) graded and is graded again, overwriting nbgrader's rows; one with it is skipped
  unless forced. That is what makes an interrupted batch safe to rerun.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat

import nbformat
from sqlalchemy import Column, DateTime, Float, MetaData, String, Table, Text, create_engine, delete, select

from autograder.classroom.course import Course
from autograder.errors import UserError
from autograder.grading.results import SubmissionResult

metadata = MetaData()
RESULTS = Table(
    "autograder_result", metadata,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("notebook", String(128), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("max_score", Float, nullable=False),
    Column("seed", String(64)),
    Column("submission_sha256", String(64), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("graded_at", DateTime, nullable=False),
    Column("result_json", Text, nullable=False),
)


def protect_file(course: Course) -> None:
    """Make an SQLite gradebook (and its journal files) readable by its owner only."""
    path = course.sqlite_path()
    if path is None:
        return
    for candidate in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal")):
        if candidate.exists():
            os.chmod(candidate, stat.S_IRUSR | stat.S_IWUSR)


def _record_from_release(course: Course, assignment: str, notebooks: dict) -> None:
    """Put an assignment into the gradebook from its released notebooks (nbgrader's SaveCells)."""
    from nbgrader.api import Gradebook  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it
    from nbgrader.preprocessors import SaveCells  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

    with Gradebook(course.db_url, course.coursedir.course_id) as gb:
        gb.update_or_create_assignment(assignment)
    for name, path in notebooks.items():
        nb = nbformat.read(path, as_version=4)
        resources = {"nbgrader": {"db_url": course.db_url, "assignment": assignment, "notebook": name}}
        SaveCells(config=course.config).preprocess(nb, resources)


def _scrub_sources(course: Course, assignment: str, notebooks: dict) -> int:
    """Replace every stored cell's source and checksum by the released one; return cells changed."""
    from nbgrader.api import Gradebook, MissingEntry  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

    changed = 0
    with Gradebook(course.db_url, course.coursedir.course_id) as gb:
        for name, path in notebooks.items():
            released = nbformat.read(path, as_version=4)
            for cell in released.cells:
                info = cell.metadata.get("nbgrader", {})
                if "grade_id" not in info:
                    continue
                try:
                    stored = gb.find_source_cell(info["grade_id"], name, assignment)
                except MissingEntry:
                    continue
                if stored.source != cell.source or stored.checksum != info.get("checksum", stored.checksum):
                    stored.source = cell.source
                    stored.checksum = info.get("checksum", stored.checksum)
                    changed += 1
        gb.db.commit()
    return changed


def prepare_gradebook(course: Course, assignment: str) -> int:
    """Make the gradebook ready for grading ``assignment``; return how many stored cells held
    instructor-only text (hidden tests, mark schemes) that was removed."""
    from nbgrader.api import Gradebook, MissingEntry  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

    notebooks = course.released_notebooks(assignment)
    with Gradebook(course.db_url, course.coursedir.course_id) as gb:
        try:
            known = {nb.name for nb in gb.find_assignment(assignment).notebooks}
        except MissingEntry:
            known = set()
    if not set(notebooks) <= known:
        _record_from_release(course, assignment, notebooks)
    changed = _scrub_sources(course, assignment, notebooks)
    ResultStore(course.db_url).create()
    protect_file(course)
    return changed


class ResultStore:
    """The ``autograder_result`` table: one row per completely graded submitted notebook."""

    def __init__(self, db_url: str):
        self.engine = create_engine(db_url, future=True)

    def create(self) -> None:
        """Create the table if it is missing."""
        metadata.create_all(self.engine, tables=[RESULTS])

    def graded(self, assignment: str) -> dict[tuple[str, str], dict]:
        """(student, notebook) -> row, for every completely graded notebook of ``assignment``."""
        self.create()
        with self.engine.connect() as conn:
            rows = conn.execute(select(RESULTS).where(RESULTS.c.assignment == assignment)).mappings()
            return {(r["student"], r["notebook"]): dict(r) for r in rows}

    def result(self, assignment: str, student: str, notebook: str) -> SubmissionResult | None:
        """The stored result of one submission, or None."""
        row = self.graded(assignment).get((student, notebook))
        return stored_result(row) if row else None

    def save(self, assignment: str, result: SubmissionResult, sha256: str, run_id: str, seed=None) -> None:
        """Mark one submission completely graded with the run's ``seed`` (replacing an earlier row)."""
        row = {
            "assignment": assignment, "student": result.student, "notebook": result.notebook,
            "status": result.status, "score": float(result.score or 0.0),
            "max_score": float(result.max_score or 0.0),
            "seed": None if seed is None else str(seed),
            "submission_sha256": sha256, "run_id": run_id,
            "graded_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            "result_json": json.dumps(result.to_json(), sort_keys=True),
        }
        key = (RESULTS.c.assignment == assignment) & (RESULTS.c.student == row["student"]) \
            & (RESULTS.c.notebook == row["notebook"])
        with self.engine.begin() as conn:
            conn.execute(delete(RESULTS).where(key))
            conn.execute(RESULTS.insert().values(**row))

    def dispose(self) -> None:
        """Close the database connections."""
        self.engine.dispose()


def stored_result(row: dict) -> SubmissionResult:
    """The result held by a row of :meth:`ResultStore.graded`."""
    return SubmissionResult.from_json(json.loads(row["result_json"]))


def require_assignment(course: Course, assignment: str) -> None:
    """A clear error when the gradebook does not know ``assignment``."""
    from nbgrader.api import Gradebook, MissingEntry  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

    with Gradebook(course.db_url, course.coursedir.course_id) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise UserError(f"the gradebook has no assignment {assignment!r}; grade it first") from None
