"""The leaderboard's operations on its database: every rule of the competition lives here.

:class:`Leaderboard` is used by the web app and by the CLI alike. Each accepted submission
is written in one transaction that locks the entrant's row, takes one unit of the day's
quota with a conditional ``UPDATE`` (so the limit holds under any concurrency), applies the
Ladder and inserts the row; a file that fails validation never reaches the database.
SQLite runs in WAL mode with ``BEGIN IMMEDIATE`` for writers; PostgreSQL uses row locks.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import unicodedata
from collections.abc import Callable, Iterator
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, bindparam, create_engine, event, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, undefer

from autograder.errors import UserError
from autograder.leaderboard.ladder import DEFAULT_ALPHA, FIXED, FREE, MODES, SEQUENTIAL, ladder_answer, pack
from autograder.leaderboard.models import Base, Competition, DailyCount, Entrant, Student, Submission
from autograder.leaderboard.roster import RosterEntry, check_team_sizes
from autograder.leaderboard.scoring import AnswerKey
from autograder.leaderboard.validate import InvalidSubmission, parse_predictions
from autograder.paths import course_root

DEFAULT_LADDER = SEQUENTIAL
DEFAULT_ETA = 0.003  # the fixed Ladder's step
DEFAULT_MAX_TEAM_SIZE = 5
DEFAULT_DAILY_LIMIT = 5
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
DEFAULT_MAX_NOTEBOOK_BYTES = 8 * 1024 * 1024
DEFAULT_TOLERANCE = 0.01
MAX_NAME = 40


def utcnow() -> datetime:
    """The current UTC time as a naive datetime (how the database stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(moment: datetime | None) -> str | None:
    """A stored UTC time as ISO 8601 with a ``Z``, to the millisecond."""
    return None if moment is None else moment.isoformat(timespec="milliseconds") + "Z"


def hash_token(token: str) -> str:
    """sha256 of a token: tokens are 256-bit random strings, so a fast hash is enough."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token(prefix: str) -> str:
    """A fresh high-entropy token (``lbs_`` for students, ``lbi_`` for the instructor)."""
    return prefix + secrets.token_urlsafe(32)


def default_database() -> Path:
    """The SQLite file used when no --db is given: ``leaderboard.db`` in the course root."""
    return course_root() / "leaderboard.db"


def database_url(spec: str | Path | None) -> str:
    """A SQLAlchemy URL from a URL, a file path or None (the default SQLite file)."""
    if spec is None:
        spec = default_database()
    spec = str(spec)
    if "://" in spec:
        if spec.startswith("postgresql://"):  # use psycopg 3, the driver we install
            spec = "postgresql+psycopg://" + spec[len("postgresql://") :]
        return spec
    return f"sqlite:///{Path(spec).expanduser().resolve()}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and immediate write transactions.

    Connections from ``engine.execution_options(write=True)`` start with ``BEGIN IMMEDIATE``
    on SQLite, so a writer waits for the lock up front instead of failing half-way; reads
    run in autocommit (a single SELECT needs no transaction of its own).
    """
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=10, max_overflow=30, pool_pre_ping=True)
    engine = create_engine(url, pool_size=10, max_overflow=30,
                           connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=60000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        if connection.get_execution_options().get("write", False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        # reads stay in autocommit: each SELECT sees one consistent snapshot of its own

    return engine


class SubmissionRejected(Exception):
    """A request was refused and nothing was stored; ``reason`` is one of ``invalid``,
    ``too_large``, ``limit``, ``closed``, ``forbidden``, ``conflict`` (the web app maps it
    to an HTTP status)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class NotFound(Exception):
    """The object does not exist or does not belong to the caller."""


@dataclass(frozen=True)
class Settings:
    """The competition's rules (fixed at init, except the closing time)."""

    name: str
    classes: tuple[str, ...]
    ladder: str  # "sequential" (the default), "free" (parameter-free Ladder) or "fixed" (step eta)
    eta: float
    daily_limit: int
    max_bytes: int
    max_notebook_bytes: int
    tolerance: float
    closes_at: datetime | None
    n_test: int
    n_public: int
    max_team_size: int
    alpha: float = DEFAULT_ALPHA

    def is_closed(self, now: datetime) -> bool:
        """Whether the competition is closed at ``now``."""
        return _closed(self.closes_at, now)

    def ladder_title(self) -> str:
        """The Ladder's short name with its parameter (for pages and the CLI)."""
        if self.ladder == FIXED:
            return f"fixed Ladder (eta {self.eta:g})"
        return "parameter-free Ladder" if self.ladder == FREE else f"sequential Ladder (alpha {self.alpha:g})"

    def ladder_rule(self) -> str:
        """One sentence on when the public board moves (for pages and messages)."""
        if self.ladder == FIXED:
            return f"a submission moves the board only when it beats its entrant's best by more than {self.eta:g}"
        if self.ladder == FREE:
            return ("a submission moves the board only when it beats its entrant's best by more than the standard "
                    "error of the per-image differences between the two (Blum & Hardt's parameter-free Ladder)")
        return ("a submission moves the board only when it beats its entrant's best by more than a multiple of the "
                "standard error of the per-image differences between the two, a multiple that grows with the "
                "number of submissions tried against that best (a sequential test: repeated tries cannot climb "
                "on noise)")


@dataclass(frozen=True)
class Principal:
    """Who a token belongs to: the instructor, or a student (and their entrant)."""

    is_instructor: bool
    student_pk: int | None = None
    student_id: str | None = None
    entrant_id: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class SubmitResult:
    """The outcome of an accepted submission as the student may see it."""

    id: int
    public_score: float
    moved: bool
    submitted_at: datetime
    remaining_today: int
    message: str


@dataclass(frozen=True)
class BoardRow:
    """One line of a board; ``as_json`` gives the documented API/CLI shape."""

    rank: int
    student: str
    score: float
    submitted_at: datetime
    entrant_id: int
    submission_id: int
    verify_status: str

    def as_json(self) -> dict:
        return {"rank": self.rank, "student": self.student, "score": self.score, "submitted_at": iso(self.submitted_at)}


_COMPETITION, _ENTRANT = Competition.__table__, Entrant.__table__
_SUBMISSION, _DAILY = Submission.__table__, DailyCount.__table__
_STUDENT_BY_TOKEN = (select(Student.id, Student.student_id, Student.entrant_id, Entrant.name)
                     .join(Entrant, Entrant.id == Student.entrant_id).where(Student.token_hash == bindparam("digest")))
_INSTRUCTOR_BY_TOKEN = select(_COMPETITION.c.id).where(_COMPETITION.c.instructor_token_hash == bindparam("digest"))
_CLOSES_AT = select(_COMPETITION.c.closes_at).where(_COMPETITION.c.id == 1)
_LOCK_ENTRANT = (select(_ENTRANT.c.best_score, _ENTRANT.c.best_correct, _ENTRANT.c.n_submissions,
                        _ENTRANT.c.since_best)
                 .where(_ENTRANT.c.id == bindparam("entrant")).with_for_update())
_INSERT_SUBMISSION = insert(_SUBMISSION).returning(_SUBMISSION.c.id)
_COUNT_ENTRANT = (update(_ENTRANT).where(_ENTRANT.c.id == bindparam("entrant"))
                  .values(n_submissions=_ENTRANT.c.n_submissions + 1, since_best=_ENTRANT.c.since_best + 1))
_MOVE_ENTRANT = _COUNT_ENTRANT.values(best_score=bindparam("best"), best_submission_id=bindparam("submission"),
                                      best_correct=bindparam("correct"), since_best=0)
# INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 WHERE count < :limit RETURNING count
_QUOTA = {
    name: dialect_insert(_DAILY).on_conflict_do_update(
        index_elements=[_DAILY.c.entrant_id, _DAILY.c.day], set_={"count": _DAILY.c.count + 1},
        where=_DAILY.c.count < bindparam("limit"),
    ).returning(_DAILY.c.count)
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def _closed(closes_at: datetime | None, now: datetime) -> bool:
    return closes_at is not None and now >= closes_at


def clean_name(name: str) -> str:
    """Check a display name: 1-40 printable characters after trimming; raise ValueError."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"a display name has 1-{MAX_NAME} characters")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for char in name):
        raise ValueError("a display name cannot contain control or invisible characters")
    return name


def _check_notebook(data: bytes, limit: int) -> None:
    """Refuse an attached notebook that is too large or not a notebook."""
    if len(data) > limit:
        raise SubmissionRejected(f"the notebook is {len(data):,} bytes; the limit is {limit:,} bytes", "too_large")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise SubmissionRejected("the attached notebook is not a Jupyter notebook (.ipynb JSON)", "invalid") from None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        raise SubmissionRejected("the attached notebook is not a Jupyter notebook (no cells)", "invalid")


class Leaderboard:
    """A competition stored in one database (SQLite file or PostgreSQL)."""

    def __init__(self, url: str, clock: Callable[[], datetime] = utcnow):
        self.url = url
        self.engine = make_engine(url)
        self._writer = self.engine.execution_options(write=True)
        # SQLite has one writer at a time and its busy handler waits by sleeping; threads of
        # this process queue on a lock instead (other processes still meet the busy timeout).
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else nullcontext()
        self.clock = clock
        self._key: AnswerKey | None = None
        self._settings: Settings | None = None

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # ---- sessions -----------------------------------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[Session]:
        """An ORM session for the rare reads of whole objects (hot reads use Core connections)."""
        with Session(self.engine) as session, session.begin():
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._write_lock, Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    # ---- set-up -------------------------------------------------------------------------
    def initialize(
        self,
        key: AnswerKey,
        *,
        name: str = "QuickDraw competition",
        ladder: str = DEFAULT_LADDER,
        eta: float = DEFAULT_ETA,
        alpha: float = DEFAULT_ALPHA,
        max_team_size: int = DEFAULT_MAX_TEAM_SIZE,
        daily_limit: int = DEFAULT_DAILY_LIMIT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_notebook_bytes: int = DEFAULT_MAX_NOTEBOOK_BYTES,
        tolerance: float = DEFAULT_TOLERANCE,
        closes_at: datetime | None = None,
    ) -> str:
        """Create the tables and the competition; return the instructor token (shown once)."""
        if ladder not in MODES:
            raise UserError(f"the Ladder is one of {', '.join(MODES)}, got {ladder!r}")
        if not 0 < eta < 0.5:
            raise UserError(f"eta must be in (0, 0.5), got {eta}")
        if not 0 < alpha < 1:
            raise UserError(f"alpha must be in (0, 1), got {alpha}")
        if max_team_size < 1:
            raise UserError(f"the largest team has at least 1 member, got {max_team_size}")
        if daily_limit < 1 or max_bytes < 64 or max_notebook_bytes < 1 or tolerance < 0:
            raise UserError("daily limit and size limits must be positive, tolerance non-negative")
        Base.metadata.create_all(self.engine)
        token = new_token("lbi_")
        public_mask = key.public.astype(np.uint8).tobytes()
        try:
            with self._write() as session:
                if session.get(Competition, 1) is not None:
                    raise UserError(f"{self.url} already holds a competition; use another --db")
                session.add(
                    Competition(
                        id=1, name=name, classes="\n".join(key.classes), ladder=ladder, eta=eta, alpha=alpha,
                        max_team_size=max_team_size, daily_limit=daily_limit,
                        max_bytes=max_bytes, max_notebook_bytes=max_notebook_bytes, tolerance=tolerance,
                        closes_at=closes_at, created_at=self.clock(), key_sha256=key.fingerprint(),
                        ids="\n".join(key.ids), labels=key.labels.tobytes(), public_mask=public_mask,
                        instructor_token_hash=hash_token(token),
                    )
                )
        except IntegrityError:
            raise UserError(f"{self.url} already holds a competition; use another --db") from None
        return token

    def _competition(self, session: Session, *blobs) -> Competition:
        query = select(Competition).where(Competition.id == 1)
        if blobs:
            query = query.options(*(undefer(blob) for blob in blobs))
        try:
            competition = session.execute(query).scalar_one_or_none()
        except (OperationalError, ProgrammingError) as exc:  # no tables: never initialised
            if "lb_competition" in str(exc):
                raise UserError(f"{self.url} holds no competition; run `autograder leaderboard init` first") from None
            raise
        if competition is None:
            raise UserError(f"{self.url} holds no competition; run `autograder leaderboard init` first")
        return competition

    def settings(self) -> Settings:
        """The competition's rules, with the closing time read fresh from the database."""
        fixed = self._fixed_settings()
        with self.engine.connect() as conn:
            return replace(fixed, closes_at=conn.execute(_CLOSES_AT).scalar_one())

    def _fixed_settings(self) -> Settings:
        """The rules that never change after init (closes_at left None), read once."""
        if self._settings is None:
            key = self.answer_key()
            with self._read() as session:
                competition = self._competition(session)
                self._settings = Settings(
                    competition.name, key.classes, competition.ladder, competition.eta, competition.daily_limit,
                    competition.max_bytes, competition.max_notebook_bytes, competition.tolerance,
                    None, len(key.ids), int(key.public.sum()), competition.max_team_size, competition.alpha,
                )
        return self._settings

    def answer_key(self) -> AnswerKey:
        """The hidden labels (read once, they never change)."""
        if self._key is None:
            with self._read() as session:
                competition = self._competition(session, Competition.ids, Competition.labels, Competition.public_mask)
                self._key = AnswerKey(
                    tuple(competition.ids.split("\n")),
                    np.frombuffer(competition.labels, dtype=np.uint8),
                    np.frombuffer(competition.public_mask, dtype=np.uint8).astype(bool),
                    tuple(competition.classes.split("\n")),
                )
        return self._key

    def is_closed(self) -> bool:
        """Whether the competition has closed (private board visible, no more submissions)."""
        return self.settings().is_closed(self.clock())

    def close(self, at: datetime | None = None) -> datetime:
        """Close the competition now (or at ``at``); return the closing time."""
        moment = at or self.clock()
        with self._write() as session:
            self._competition(session).closes_at = moment
        return moment

    # ---- accounts -----------------------------------------------------------------------
    def add_students(self, roster: list[RosterEntry], reissue: bool = False) -> list[tuple[str, str]]:
        """Create accounts for new students; return (student id, token) for each token issued.

        Existing students keep their token unless ``reissue``; teams are created on first use.
        """
        limit = self._fixed_settings().max_team_size
        check_team_sizes(roster, limit)
        issued, teams = [], set()
        with self._write() as session:
            self._competition(session)
            for entry in roster:
                token = new_token("lbs_")
                student = session.execute(select(Student).where(Student.student_id == entry.student_id)).scalar_one_or_none()
                if student is not None:
                    if reissue:
                        student.token_hash = hash_token(token)
                        issued.append((entry.student_id, token))
                    continue
                if len(entry.student_id) > 100:
                    raise UserError(f"student id too long: {entry.student_id[:40]}...")
                entrant = self._entrant_for(session, entry)
                if entrant.is_team:
                    teams.add(entrant.id)
                session.add(
                    Student(student_id=entry.student_id, email=entry.email, token_hash=hash_token(token),
                            entrant_id=entrant.id, created_at=self.clock())
                )
                issued.append((entry.student_id, token))
            session.flush()
            for entrant_id in teams:  # with the members added earlier, a team may still be too large
                members = session.execute(select(func.count()).where(Student.entrant_id == entrant_id)).scalar_one()
                if members > limit:
                    team = session.get(Entrant, entrant_id).name
                    raise UserError(f"team {team!r} would have {members} members with the ones already on the board; "
                                    f"teams have at most {limit}")
        return issued

    def _entrant_for(self, session: Session, entry: RosterEntry) -> Entrant:
        try:
            name = clean_name(entry.team or entry.display_name or entry.student_id)
        except ValueError as exc:
            raise UserError(f"student {entry.student_id}: {exc}") from None
        existing = session.execute(select(Entrant).where(Entrant.name == name)).scalar_one_or_none()
        if entry.team and existing is not None and existing.is_team:
            return existing
        if existing is not None:
            raise UserError(f"student {entry.student_id}: the board name {name!r} is already taken")
        entrant = Entrant(name=name, is_team=bool(entry.team), n_submissions=0)
        session.add(entrant)
        session.flush()
        return entrant

    def authenticate(self, token: str | None) -> Principal | None:
        """The principal a token belongs to, or None."""
        if not token or len(token) > 200:
            return None
        digest = hash_token(token)
        with self.engine.connect() as conn:
            row = conn.execute(_STUDENT_BY_TOKEN, {"digest": digest}).first()
            if row is not None:
                return Principal(False, row.id, row.student_id, row.entrant_id, row.name)
            instructor = conn.execute(_INSTRUCTOR_BY_TOKEN, {"digest": digest}).first()
        return Principal(True, name="instructor") if instructor else None

    def set_display_name(self, who: Principal, name: str) -> str:
        """Rename a student's own board entry (not a team's); return the cleaned name."""
        try:
            name = clean_name(name)
        except ValueError as exc:
            raise SubmissionRejected(str(exc), "invalid") from None
        try:
            with self._write() as session:
                entrant = session.get(Entrant, who.entrant_id, with_for_update=True)
                if entrant.is_team:
                    raise SubmissionRejected("a team's name is set by the instructor", "forbidden")
                entrant.name = name
        except IntegrityError:
            raise SubmissionRejected(f"the name {name!r} is already taken", "conflict") from None
        return name

    # ---- submissions --------------------------------------------------------------------
    def submit(
        self,
        who: Principal,
        data: bytes,
        filename: str = "predictions.csv",
        notebook: bytes | None = None,
        notebook_name: str | None = None,
    ) -> SubmitResult:
        """Validate, score and store one submission; raise :class:`SubmissionRejected` if refused."""
        if who.is_instructor or who.entrant_id is None:
            raise SubmissionRejected("only students submit", "forbidden")
        settings = self._fixed_settings()
        key = self.answer_key()
        try:
            predictions = parse_predictions(data, key.test_ids, key.n_classes, settings.max_bytes)
        except InvalidSubmission as exc:
            raise SubmissionRejected(str(exc), "too_large" if exc.too_large else "invalid") from None
        if notebook is not None:
            _check_notebook(notebook, settings.max_notebook_bytes)
        scores = key.score(predictions)
        correct = key.public_correct(predictions)
        limit = settings.daily_limit
        with self._write_lock, self._writer.begin() as conn:  # prepared Core statements on the hot path
            closes_at = conn.execute(_CLOSES_AT).scalar_one()
            entrant = conn.execute(_LOCK_ENTRANT, {"entrant": who.entrant_id}).one()
            now = self.clock()  # taken under the lock: ids and times agree
            if _closed(closes_at, now):
                raise SubmissionRejected("the competition is closed", "closed")
            taken = conn.execute(  # one unit of today's quota, or no row when it is used up
                _QUOTA[conn.dialect.name],
                {"entrant_id": who.entrant_id, "day": now.date().isoformat(), "count": 1, "limit": limit},
            ).scalar_one_or_none()
            if taken is None:
                raise SubmissionRejected(
                    f"daily limit reached: {limit} submissions per UTC day; try again after midnight UTC", "limit")
            step = ladder_answer(settings.ladder, settings.eta, entrant.best_score, entrant.best_correct, correct,
                                 alpha=settings.alpha, tries=(entrant.since_best or 0) + 1)
            reported, moved = step.reported, step.moved
            submission_id = conn.execute(_INSERT_SUBMISSION, {
                "entrant_id": who.entrant_id, "student_pk": who.student_pk, "seq": entrant.n_submissions + 1,
                "created_at": now, "filename": (filename or "predictions.csv")[:255],
                "sha256": hashlib.sha256(data).hexdigest(), "n_bytes": len(data),
                "predictions": predictions.tobytes(), "public_score": scores.public,
                "private_score": scores.private, "overall_score": scores.overall, "reported_score": reported,
                "moved": moved, "notebook": notebook,
                "notebook_name": (notebook_name or None) and notebook_name[:255], "verify_status": "unverified",
            }).scalar_one()
            if moved:
                conn.execute(_MOVE_ENTRANT, {"entrant": who.entrant_id, "best": reported, "submission": submission_id,
                                             "correct": pack(correct)})
            else:
                conn.execute(_COUNT_ENTRANT, {"entrant": who.entrant_id})
        if moved:
            message = f"public score {reported:.3f}: a new best, the board moved"
        elif settings.ladder == FIXED:
            message = (f"public score {reported:.3f} (unchanged): this submission did not beat your best "
                       f"by more than {settings.eta:g}")
        else:
            margin = ("the standard error of the difference" if settings.ladder == FREE else
                      "a multiple of the standard error of the difference that grows with your tries against it")
            message = (f"public score {reported:.3f} (unchanged): this submission did not beat your best "
                       f"by more than {margin} (not shown: it depends on the hidden labels)")
        return SubmitResult(submission_id, reported, moved, now, limit - taken, message)

    def history(self, who: Principal) -> list[dict]:
        """The caller's entrant's submissions, newest first, as the student may see them."""
        with self.engine.connect() as conn:
            selected = conn.execute(
                select(Entrant.selected_submission_id).where(Entrant.id == who.entrant_id)
            ).scalar_one()
            rows = conn.execute(
                select(Submission.id, Submission.seq, Submission.created_at, Submission.filename,
                       Submission.reported_score, Submission.moved, Student.student_id,
                       Submission.notebook_name)
                .join(Student, Student.id == Submission.student_pk)
                .where(Submission.entrant_id == who.entrant_id)
                .order_by(Submission.id.desc())
            ).all()
        return [
            {"id": row.id, "number": row.seq, "submitted_at": iso(row.created_at), "filename": row.filename,
             "public_score": row.reported_score, "moved": row.moved, "by": row.student_id,
             "notebook": row.notebook_name, "selected": row.id == selected}
            for row in rows
        ]

    def remaining_today(self, who: Principal) -> int:
        """How many more submissions the caller's entrant may make this UTC day."""
        day = self.clock().date().isoformat()
        with self.engine.connect() as conn:
            used = conn.execute(
                select(DailyCount.count).where(DailyCount.entrant_id == who.entrant_id, DailyCount.day == day)
            ).scalar_one_or_none()
        return max(0, self._fixed_settings().daily_limit - (used or 0))

    def select_final(self, who: Principal, submission_id: int | None) -> None:
        """Choose the submission for the private board (None: back to the best public one)."""
        with self._write() as session:
            if _closed(self._competition(session).closes_at, self.clock()):
                raise SubmissionRejected("the competition is closed; the selection is final", "closed")
            entrant = session.get(Entrant, who.entrant_id, with_for_update=True)
            if submission_id is not None:
                owner = session.execute(
                    select(Submission.entrant_id).where(Submission.id == submission_id)
                ).scalar_one_or_none()
                if owner != who.entrant_id:
                    raise NotFound(f"no submission {submission_id} of yours")
            entrant.selected_submission_id = submission_id

    # ---- boards -------------------------------------------------------------------------
    def board(self, private: bool = False) -> list[BoardRow]:
        """The public board (Ladder scores, best per entrant) or the private board (true
        accuracy on the private half of each entrant's selected submission, else best public).
        Ties go to the earlier submission."""
        chosen = Entrant.best_submission_id
        score = Entrant.best_score
        if private:
            chosen = func.coalesce(Entrant.selected_submission_id, Entrant.best_submission_id)
            score = Submission.private_score
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Entrant.name, score.label("score"), Submission.created_at, Entrant.id.label("entrant_id"),
                       Submission.id.label("submission_id"), Submission.verify_status)
                .join(Submission, Submission.id == chosen)
                .order_by(score.desc(), Submission.created_at, Submission.id)
            ).all()
        return [
            BoardRow(rank, row.name, row.score, row.created_at, row.entrant_id, row.submission_id, row.verify_status)
            for rank, row in enumerate(rows, start=1)
        ]

    def student_stats(self) -> list[dict]:
        """Per student: entrant, submissions in total and today, scores (instructor view)."""
        day = self.clock().date().isoformat()
        with self.engine.connect() as conn:
            chosen = func.coalesce(Entrant.selected_submission_id, Entrant.best_submission_id)
            rows = conn.execute(
                select(Student.student_id, Entrant.id.label("entrant_id"), Entrant.name, Entrant.is_team, Entrant.n_submissions,
                       Entrant.best_score, DailyCount.count.label("today"), Submission.id.label("final_id"),
                       Submission.public_score, Submission.private_score, Submission.verify_status,
                       Entrant.selected_submission_id)
                .join(Entrant, Entrant.id == Student.entrant_id)
                .outerjoin(DailyCount, (DailyCount.entrant_id == Entrant.id) & (DailyCount.day == day))
                .outerjoin(Submission, Submission.id == chosen)
                .order_by(Student.student_id)
            ).all()
        return [
            {"student": row.student_id, "entrant_id": row.entrant_id, "entrant": row.name, "team": row.is_team,
             "submissions": row.n_submissions, "today": row.today or 0, "public_score": row.best_score,
             "final_submission": row.final_id, "chosen_by_student": row.selected_submission_id is not None,
             "final_public_accuracy": row.public_score, "final_private_accuracy": row.private_score,
             "verify_status": row.verify_status}
            for row in rows
        ]

    # ---- verification -------------------------------------------------------------------
    def submission_for_verify(self, submission_id: int) -> tuple[bytes, bytes | None, str]:
        """(stored predictions, attached notebook or None, current verify status)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(Submission.predictions, Submission.notebook, Submission.verify_status)
                .where(Submission.id == submission_id)
            ).one()
        return row.predictions, row.notebook, row.verify_status

    def record_verification(self, submission_id: int, status: str, detail: str, score: float | None) -> None:
        """Store the outcome of a reproducibility check."""
        with self._write() as session:
            session.execute(
                update(Submission).where(Submission.id == submission_id)
                .values(verify_status=status, verify_detail=detail, verify_score=score)
            )
