"""Database tables of handed-in homework, in the same database as the roster (tables ``hw_``).

Every accepted attempt is a row of :class:`Attempt` and is never overwritten: grading only moves
its ``state`` (queued -> running -> done or failed) and fills in the result columns once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from autograder.leaderboard.models import Base

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class Attempt(Base):
    """One accepted notebook handed in for one assignment, and what grading it gave."""

    __tablename__ = "hw_attempt"
    __table_args__ = (
        Index("ix_hw_attempt_student_assignment", "student_pk", "assignment"),
        Index("ix_hw_attempt_state", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_pk: Mapped[int] = mapped_column(ForeignKey("lb_student.id"))
    assignment: Mapped[str] = mapped_column(String(100))
    notebook_name: Mapped[str] = mapped_column(String(255))  # the released notebook's file name
    filename: Mapped[str] = mapped_column(String(255))  # as uploaded (shown, never used as a path)
    sha256: Mapped[str] = mapped_column(String(64))
    n_bytes: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    late: Mapped[bool] = mapped_column(Boolean)
    selected: Mapped[bool] = mapped_column(Boolean, default=False)  # the student's pick for grading
    seed: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default=QUEUED)
    tries: Mapped[int] = mapped_column(Integer, default=0)  # runs started (a dead worker's run counts)
    # queued again by the instructor's "regrade all": not the student's waiting attempt
    regrade: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(120))  # host:pid:run of the worker running it
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    visible: Mapped[str | None] = mapped_column(Text)  # JSON: the notebook's own tests and cell errors
    hidden: Mapped[str | None] = mapped_column(Text)  # JSON: the hidden checks (instructor's until released)


class HomeworkPolicy(Base):
    """What the instructor decided for one assignment: hidden results released, or a practice one."""

    __tablename__ = "hw_policy"

    assignment: Mapped[str] = mapped_column(String(100), primary_key=True)
    feedback_released: Mapped[bool] = mapped_column(Boolean, default=False)
    practice: Mapped[bool] = mapped_column(Boolean, default=False)
