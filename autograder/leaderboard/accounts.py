"""Accounts: students from the roster, the teams they form, their tokens and display names."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autograder.errors import UserError
from autograder.leaderboard.competition import CompetitionStore
from autograder.leaderboard.errors import SubmissionRejected
from autograder.leaderboard.models import Competition, Entrant, Student
from autograder.leaderboard.roster import RosterEntry, check_team_sizes
from autograder.leaderboard.tokens import hash_token, new_token

MAX_NAME = 40

_STUDENT_BY_TOKEN = (select(Student.id, Student.student_id, Student.entrant_id, Entrant.name)
                     .join(Entrant, Entrant.id == Student.entrant_id).where(Student.token_hash == bindparam("digest")))
_INSTRUCTOR_BY_TOKEN = select(Competition.__table__.c.id).where(
    Competition.__table__.c.instructor_token_hash == bindparam("digest"))


@dataclass(frozen=True)
class Principal:
    """Who a token belongs to: the instructor, or a student (and their entrant)."""

    is_instructor: bool
    student_pk: int | None = None
    student_id: str | None = None
    entrant_id: int | None = None
    name: str | None = None


def clean_name(name: str) -> str:
    """Check a display name: 1-40 printable characters after trimming; raise ValueError."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"a display name has 1-{MAX_NAME} characters")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for char in name):
        raise ValueError("a display name cannot contain control or invisible characters")
    return name


class AccountStore(CompetitionStore):
    """Students, entrants (a student alone or a team) and who a token belongs to."""

    def add_students(self, roster: list[RosterEntry], reissue: bool = False) -> list[tuple[str, str]]:
        """Create accounts for new students; return (student id, token) for each token issued.

        Existing students keep their token unless ``reissue``; teams are created on first use.
        """
        limit = self.fixed_settings().max_team_size
        check_team_sizes(roster, limit)
        issued, teams = [], set()
        with self.write_session() as session:
            self.competition_row(session)
            for entry in roster:
                token = new_token("lbs_")
                student = session.execute(
                    select(Student).where(Student.student_id == entry.student_id)).scalar_one_or_none()
                if student is not None:
                    if reissue:
                        student.token_hash = hash_token(token)
                        issued.append((entry.student_id, token))
                    continue
                if len(entry.student_id) > 100:
                    raise UserError(f"student id too long: {entry.student_id[:40]}...")
                entrant = _entrant_for(session, entry)
                if entrant.is_team:
                    teams.add(entrant.id)
                session.add(
                    Student(student_id=entry.student_id, email=entry.email, token_hash=hash_token(token),
                            entrant_id=entrant.id, created_at=self.clock())
                )
                issued.append((entry.student_id, token))
            session.flush()
            _check_team_totals(session, teams, limit)
        return issued

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
            with self.write_session() as session:
                entrant = session.get(Entrant, who.entrant_id, with_for_update=True)
                if entrant.is_team:
                    raise SubmissionRejected("a team's name is set by the instructor", "forbidden")
                entrant.name = name
        except IntegrityError:
            raise SubmissionRejected(f"the name {name!r} is already taken", "conflict") from None
        return name


def _entrant_for(session: Session, entry: RosterEntry) -> Entrant:
    """The board entry a new student joins: their team's (created on first use) or their own."""
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


def _check_team_totals(session: Session, teams: set[int], limit: int) -> None:
    """With the members added earlier, a team may still be too large: refuse it."""
    for entrant_id in teams:
        members = session.execute(select(func.count()).where(Student.entrant_id == entrant_id)).scalar_one()
        if members > limit:
            team = session.get(Entrant, entrant_id).name
            raise UserError(f"team {team!r} would have {members} members with the ones already on the board; "
                            f"teams have at most {limit}")
