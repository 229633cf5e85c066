"""Database tables of the leaderboard (SQLAlchemy ORM; SQLite or PostgreSQL).

An *entrant* is what appears on the board: a student on their own, or a team. Every
student belongs to exactly one entrant; submissions, the daily limit, the Ladder state and
the final selection all belong to the entrant. Table names start with ``lb_`` so the
tables can share a PostgreSQL database with nbgrader's gradebook.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the leaderboard tables."""


class Competition(Base):
    """The one competition this database runs (row id 1) and its answer key."""

    __tablename__ = "lb_competition"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    classes: Mapped[str] = mapped_column(Text)  # one class name per line
    ladder: Mapped[str] = mapped_column(String(10), default="sequential")  # sequential, free or fixed (ladder.py)
    eta: Mapped[float] = mapped_column(Float)  # the fixed Ladder's step
    alpha: Mapped[float] = mapped_column(Float, default=0.5)  # the sequential Ladder's level
    max_team_size: Mapped[int] = mapped_column(Integer, default=5)
    daily_limit: Mapped[int] = mapped_column(Integer)
    max_bytes: Mapped[int] = mapped_column(Integer)
    max_notebook_bytes: Mapped[int] = mapped_column(Integer)
    tolerance: Mapped[float] = mapped_column(Float)
    closes_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    key_sha256: Mapped[str] = mapped_column(String(64))
    ids: Mapped[str] = mapped_column(Text, deferred=True)  # test ids, one per line
    labels: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # uint8 per id
    public_mask: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # 1 = public half
    instructor_token_hash: Mapped[str] = mapped_column(String(64), unique=True)


class Entrant(Base):
    """A row of the board: one student or one team."""

    __tablename__ = "lb_entrant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    is_team: Mapped[bool] = mapped_column(Boolean, default=False)
    n_submissions: Mapped[int] = mapped_column(Integer, default=0)
    best_score: Mapped[float | None] = mapped_column(Float)  # Ladder-reported public score
    best_submission_id: Mapped[int | None] = mapped_column(Integer)
    best_correct: Mapped[bytes | None] = mapped_column(LargeBinary)  # packed bits: best's public hits
    since_best: Mapped[int] = mapped_column(Integer, default=0)  # submissions compared with that best so far
    selected_submission_id: Mapped[int | None] = mapped_column(Integer)


class Student(Base):
    """One account: an nbgrader student id and the hash of their token."""

    __tablename__ = "lb_student"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entrant_id: Mapped[int] = mapped_column(ForeignKey("lb_entrant.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Upload(Base):
    """An accepted upload of predictions (rejected files are never stored); the table keeps its
    old name so existing databases still open."""

    __tablename__ = "lb_submission"
    __table_args__ = (
        UniqueConstraint("entrant_id", "seq", name="uq_lb_submission_entrant_seq"),
        Index("ix_lb_submission_entrant_created", "entrant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entrant_id: Mapped[int] = mapped_column(ForeignKey("lb_entrant.id"))
    student_pk: Mapped[int] = mapped_column(ForeignKey("lb_student.id"))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within the entrant
    created_at: Mapped[datetime] = mapped_column(DateTime)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    n_bytes: Mapped[int] = mapped_column(Integer)
    predictions: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # uint8 per test id
    public_score: Mapped[float] = mapped_column(Float)  # raw accuracy, instructor-only
    private_score: Mapped[float | None] = mapped_column(Float)  # NULL until `leaderboard close` re-runs it
    private_status: Mapped[str | None] = mapped_column(String(20))  # verified | not_reproducible, set at close
    private_detail: Mapped[str | None] = mapped_column(Text)  # the close re-run's outcome (or why not ranked)
    reported_score: Mapped[float] = mapped_column(Float)  # what the Ladder showed
    moved: Mapped[bool] = mapped_column(Boolean)
    notebook: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    notebook_name: Mapped[str | None] = mapped_column(String(255))
    verify_status: Mapped[str] = mapped_column(String(20), default="unverified")
    verify_detail: Mapped[str | None] = mapped_column(Text)
    verify_score: Mapped[float | None] = mapped_column(Float)


class DailyCount(Base):
    """Accepted submissions per entrant and UTC day; the limit is enforced on this row."""

    __tablename__ = "lb_daily_count"

    entrant_id: Mapped[int] = mapped_column(ForeignKey("lb_entrant.id"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD (UTC)
    count: Mapped[int] = mapped_column(Integer, default=0)
