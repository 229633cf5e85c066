"""Due dates as nbgrader keeps them: the ``duedate`` of each assignment in the course's gradebook.

The instructor sets them with nbgrader (``nbgrader db assignment add NAME --duedate=...`` or
formgrader). Reading never creates or migrates a gradebook: a missing SQLite file, or a
database without nbgrader's tables, simply has no due dates.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import Engine

from autograder.classroom.course import Course


class DueDates:
    """The due dates in ``course``'s gradebook, read afresh on every call."""

    def __init__(self, course: Course):
        self.course = course
        self._engine: Engine | None = None

    def all(self) -> dict[str, datetime]:
        """Assignment name -> due date (naive UTC) for every assignment of the gradebook that has one."""
        from nbgrader.api import Assignment  # noqa: PLC0415 - deferred: nbgrader takes ~1 s, only the server needs it

        sqlite = self.course.sqlite_path()
        if sqlite is not None and not sqlite.is_file():
            return {}
        if self._engine is None:
            self._engine = create_engine(self.course.db_url, future=True)
        if not inspect(self._engine).has_table(Assignment.__tablename__):
            return {}
        with self._engine.connect() as conn:
            rows = conn.execute(select(Assignment.name, Assignment.duedate)).all()
        return {name: due for name, due in rows if due is not None}

    def dispose(self) -> None:
        """Close the database connections."""
        if self._engine is not None:
            self._engine.dispose()
