"""Handed-in homework: accepting an attempt under the limits, a student's history, the graded pick,
and the instructor's release of the hidden results.

An attempt is written in one transaction that first locks the student's row, so the hourly limit
and "one attempt waiting at a time" hold under any concurrency (SQLite's writers are serialized
anyway; PostgreSQL takes the row lock). A refused attempt writes nothing. Which attempt counts: the
one the student picked, else the latest on time, else (none on time) the latest late one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from autograder.leaderboard.accounts import AccountStore, Principal
from autograder.leaderboard.errors import NotFound, SubmissionRejected
from autograder.leaderboard.homework_models import QUEUED, Attempt, HomeworkPolicy
from autograder.leaderboard.models import Base, Student

DEFAULT_ATTEMPTS_PER_HOUR = 10
HOMEWORK_TABLES = (Attempt.__table__, HomeworkPolicy.__table__)


@dataclass(frozen=True)
class AttemptView:
    """One attempt as stored (without the notebook's bytes)."""

    id: int
    student: str
    assignment: str
    notebook_name: str
    filename: str
    n_bytes: int
    created_at: datetime
    late: bool
    selected: bool
    state: str
    tries: int
    started_at: datetime | None
    finished_at: datetime | None
    score: float | None
    max_score: float | None
    visible: str | None
    hidden: str | None


@dataclass(frozen=True)
class Policy:
    """The instructor's choice for one assignment: hidden results released, a practice assignment."""

    feedback_released: bool = False
    practice: bool = False

    @property
    def shows_hidden(self) -> bool:
        """Whether students see their hidden checks' results now."""
        return self.feedback_released or self.practice


_VIEW_COLUMNS = [getattr(Attempt, name) for name in AttemptView.__dataclass_fields__ if name != "student"]


def _views(session, *where) -> list[AttemptView]:
    """The attempts matching ``where``, oldest first."""
    query = (select(*_VIEW_COLUMNS, Student.student_id).join(Student, Student.id == Attempt.student_pk)
             .where(*where).order_by(Attempt.id))
    rows = session.execute(query)
    return [AttemptView(student=row.student_id, **{c.key: getattr(row, c.key) for c in _VIEW_COLUMNS})
            for row in rows]


def graded_choice(attempts: list[AttemptView]) -> AttemptView | None:
    """The attempt that counts: picked, else the latest on time, else the latest late one."""
    picked = [a for a in attempts if a.selected]
    on_time = [a for a in attempts if not a.late]
    pool = picked or on_time or attempts
    return max(pool, key=lambda a: (a.created_at, a.id), default=None)


class HandinStore(AccountStore):
    """Homework attempts and the instructor's policies, beside the roster."""

    def create_homework_tables(self) -> None:
        """Create the homework tables in a database made before they existed (a no-op otherwise)."""
        Base.metadata.create_all(self.engine, tables=list(HOMEWORK_TABLES))

    def hand_in(self, who: Principal, assignment: str, notebook_name: str, filename: str, data: bytes,
                due: datetime | None, per_hour: int = DEFAULT_ATTEMPTS_PER_HOUR) -> AttemptView:
        """Store an accepted attempt, queued for grading; raise ``SubmissionRejected`` (reason
        ``limit``: nothing stored) when the student is over the hourly limit or has one waiting."""
        now = self.clock()
        with self.write_session() as session:
            session.execute(select(Student.id).where(Student.id == who.student_pk).with_for_update())
            mine = Attempt.student_pk == who.student_pk
            waiting = session.scalar(select(func.count()).where(mine, Attempt.state == QUEUED,
                                                                 Attempt.regrade.is_not(True)))
            if waiting:
                raise SubmissionRejected("you already have an attempt waiting to be graded; hand in again once "
                                         "it has started running", "limit")
            recent = session.scalar(select(func.count()).where(mine, Attempt.created_at > now - timedelta(hours=1)))
            if recent >= per_hour:
                raise SubmissionRejected(f"at most {per_hour} attempts per hour; try again later", "limit")
            attempt = Attempt(student_pk=who.student_pk, assignment=assignment, notebook_name=notebook_name,
                              filename=filename[:255], sha256=hashlib.sha256(data).hexdigest(), n_bytes=len(data),
                              data=data, created_at=now, late=due is not None and now > due,
                              seed=secrets.randbelow(2**31), state=QUEUED, tries=0)
            session.add(attempt)
            session.flush()
            attempt_id = attempt.id
        return self.attempt(who, attempt_id)

    def attempt(self, who: Principal, attempt_id: int) -> AttemptView:
        """One attempt of the caller's (the instructor: anyone's); ``NotFound`` otherwise."""
        where = [Attempt.id == attempt_id]
        if not who.is_instructor:
            where.append(Attempt.student_pk == who.student_pk)
        with self.read_session() as session:
            found = _views(session, *where)
        if not found:
            raise NotFound(f"no attempt {attempt_id} of yours")
        return found[0]

    def attempt_data(self, attempt_id: int) -> bytes:
        """The notebook's bytes of an attempt."""
        with self.read_session() as session:
            return bytes(session.scalar(select(Attempt.data).where(Attempt.id == attempt_id)))

    def attempts(self, who: Principal, assignment: str) -> list[AttemptView]:
        """The caller's attempts at ``assignment``, oldest first."""
        with self.read_session() as session:
            return _views(session, Attempt.student_pk == who.student_pk, Attempt.assignment == assignment)

    def all_attempts(self, assignment: str) -> list[AttemptView]:
        """Every attempt at ``assignment`` (the instructor's view), oldest first."""
        with self.read_session() as session:
            return _views(session, Attempt.assignment == assignment)

    def student_ids(self) -> list[str]:
        """Every student of the roster, by id."""
        with self.read_session() as session:
            return list(session.scalars(select(Student.student_id).order_by(Student.student_id)))

    def select_attempt(self, who: Principal, assignment: str, attempt_id: int | None) -> AttemptView | None:
        """Make ``attempt_id`` the one graded (None: back to the latest on time); return the one now graded."""
        with self.write_session() as session:
            mine = (Attempt.student_pk == who.student_pk, Attempt.assignment == assignment)
            found = session.scalar(select(Attempt.id).where(Attempt.id == attempt_id, *mine))
            if attempt_id is not None and found is None:
                raise NotFound(f"no attempt {attempt_id} of yours at {assignment}")
            session.execute(update(Attempt).where(*mine).values(selected=Attempt.id == attempt_id))
        return graded_choice(self.attempts(who, assignment))

    def policy(self, assignment: str) -> Policy:
        """The instructor's policy for ``assignment`` (default: hidden results held back)."""
        with self.read_session() as session:
            row = session.get(HomeworkPolicy, assignment)
            return Policy() if row is None else Policy(row.feedback_released, row.practice)

    def set_policy(self, assignment: str, feedback_released: bool | None = None,
                   practice: bool | None = None) -> Policy:
        """Release (or hold back) the hidden results of ``assignment``, or mark it a practice one."""
        with self.write_session() as session:
            row = session.get(HomeworkPolicy, assignment, with_for_update=True)
            if row is None:
                row = HomeworkPolicy(assignment=assignment, feedback_released=False, practice=False)
                session.add(row)
            if feedback_released is not None:
                row.feedback_released = feedback_released
            if practice is not None:
                row.practice = practice
            return Policy(row.feedback_released, row.practice)
