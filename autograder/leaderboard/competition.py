"""The competition itself: its rules (:class:`Settings`), creating it, its answer key, closing it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, undefer

from autograder.errors import UserError
from autograder.leaderboard.database import Database
from autograder.leaderboard.ladder import DEFAULT_ALPHA, FIXED, FREE, MODES, SEQUENTIAL
from autograder.leaderboard.models import Base, Competition, Upload
from autograder.leaderboard.scoring import AnswerKey
from autograder.leaderboard.tokens import hash_token, new_token

DEFAULT_LADDER = SEQUENTIAL
DEFAULT_ETA = 0.003  # the fixed Ladder's step
DEFAULT_MAX_TEAM_SIZE = 5
DEFAULT_DAILY_LIMIT = 5
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
DEFAULT_MAX_NOTEBOOK_BYTES = 8 * 1024 * 1024
DEFAULT_TOLERANCE = 0.01

CLOSES_AT = select(Competition.__table__.c.closes_at).where(Competition.__table__.c.id == 1)


def has_closed(closes_at: datetime | None, now: datetime) -> bool:
    """Whether a competition closing at ``closes_at`` (None: not set) is closed at ``now``."""
    return closes_at is not None and now >= closes_at


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
        return has_closed(self.closes_at, now)

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


def check_rules(ladder: str, eta: float, alpha: float, max_team_size: int, daily_limit: int, max_bytes: int,
                max_notebook_bytes: int, tolerance: float) -> None:
    """Refuse rules a competition cannot run with (one-line :class:`UserError`)."""
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


class CompetitionStore(Database):
    """The competition row of a leaderboard database (row id 1) and the rules read from it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._key: AnswerKey | None = None
        self._settings: Settings | None = None

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
        check_rules(ladder, eta, alpha, max_team_size, daily_limit, max_bytes, max_notebook_bytes, tolerance)
        Base.metadata.create_all(self.engine)
        token = new_token("lbi_")
        competition = Competition(
            id=1, name=name, classes="\n".join(key.classes), ladder=ladder, eta=eta, alpha=alpha,
            max_team_size=max_team_size, daily_limit=daily_limit,
            max_bytes=max_bytes, max_notebook_bytes=max_notebook_bytes, tolerance=tolerance,
            closes_at=closes_at, created_at=self.clock(), key_sha256=key.fingerprint(),
            ids="\n".join(key.ids), labels=key.labels.tobytes(), public_mask=key.public.astype(np.uint8).tobytes(),
            instructor_token_hash=hash_token(token),
        )
        try:
            with self.write_session() as session:
                if session.get(Competition, 1) is not None:
                    raise UserError(f"{self.url} already holds a competition; use another --db")
                session.add(competition)
        except IntegrityError:
            raise UserError(f"{self.url} already holds a competition; use another --db") from None
        return token

    def competition_row(self, session: Session, *blobs) -> Competition:
        """The competition's row (with the deferred ``blobs`` loaded); a clear error when there is none."""
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
        fixed = self.fixed_settings()
        with self.engine.connect() as conn:
            return replace(fixed, closes_at=conn.execute(CLOSES_AT).scalar_one())

    def fixed_settings(self) -> Settings:
        """The rules that never change after init (closes_at left None), read once."""
        if self._settings is None:
            key = self.answer_key()
            self._check_schema()
            with self.read_session() as session:
                competition = self.competition_row(session)
                self._settings = Settings(
                    competition.name, key.classes, competition.ladder, competition.eta, competition.daily_limit,
                    competition.max_bytes, competition.max_notebook_bytes, competition.tolerance,
                    None, len(key.ids), int(key.public.sum()), competition.max_team_size, competition.alpha,
                )
        return self._settings

    def _check_schema(self) -> None:
        """A one-line error for a database made by an older version (whose uploads scored both halves)."""
        columns = {column["name"] for column in inspect(self.engine).get_columns(Upload.__tablename__)}
        if not {"private_status", "private_detail"} <= columns or "overall_score" in columns:
            raise UserError(f"{self.url} was made by an older version of the leaderboard (before the private half "
                            "was scored by re-running notebooks at close); make a new competition with "
                            "`autograder leaderboard init --db NEW`")

    def answer_key(self) -> AnswerKey:
        """The hidden labels (read once, they never change)."""
        if self._key is None:
            with self.read_session() as session:
                competition = self.competition_row(session, Competition.ids, Competition.labels,
                                                   Competition.public_mask)
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
        with self.write_session() as session:
            self.competition_row(session).closes_at = moment
        return moment
