"""Read-only views of the competition: the public and private boards, the instructor's per-student table.

Every board row carries its entry's verification **state**, as students see it: ``verified``
(its notebook, re-run on the never-released verification set, scored as on the board),
``pending`` (a notebook is attached, not checked yet), ``not reproducible`` (the re-run failed
or fell short: see :mod:`.verify`) or ``no notebook`` (nothing to re-run: the rules say only an
entry with its notebook can win). On the public board (:meth:`BoardViews.standings`) only the
first two take a rank; the others are listed unranked below them, so that labels looked up or
memorised cannot sit on top once checked, and cannot avoid the check by leaving the notebook out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select

from autograder.leaderboard.database import Database, iso
from autograder.leaderboard.models import DailyCount, Entrant, Student, Upload

VERIFIED, PENDING, NOT_REPRODUCIBLE, NO_NOTEBOOK = "verified", "pending", "not reproducible", "no notebook"
RANKED_STATES = (VERIFIED, PENDING)  # the states that take a rank on the public board


def state_of(verify_status: str, has_notebook: bool) -> str:
    """The verification state students see, from the stored status and whether a notebook is attached."""
    if not has_notebook:
        return NO_NOTEBOOK
    return {"verified": VERIFIED, "not_reproducible": NOT_REPRODUCIBLE}.get(verify_status, PENDING)


@dataclass(frozen=True)
class BoardRow:
    """One line of a board; ``as_json`` gives the documented API/CLI shape."""

    rank: int | None  # None: listed unranked (public standings; private: no re-run score)
    student: str
    score: float | None  # None: a private entry without a close re-run score (not run yet, or no result)
    submitted_at: datetime
    entrant_id: int
    submission_id: int
    verify_status: str
    has_notebook: bool

    @property
    def state(self) -> str:
        """The entry's verification state (see the module's docstring)."""
        return state_of(self.verify_status, self.has_notebook)

    def as_json(self) -> dict:
        """The row as the API and ``board --json`` show it."""
        return {"rank": self.rank, "student": self.student, "score": self.score,
                "submitted_at": iso(self.submitted_at), "state": self.state}


class BoardViews(Database):
    """The boards and the instructor's table, each one query."""

    def board(self, private: bool = False) -> list[BoardRow]:
        """The public board (Ladder scores, best per entrant) or the private board (accuracy of the
        close re-run on the private half of each entrant's selected submission, else best public;
        its state is that re-run's: verified when it agrees with the public score). Ties go to the
        earlier submission. Private entries without a re-run score are listed unranked at the end."""
        chosen, score, status = Entrant.best_submission_id, Entrant.best_score, Upload.verify_status
        if private:
            chosen = func.coalesce(Entrant.selected_submission_id, Entrant.best_submission_id)
            score, status = Upload.private_score, func.coalesce(Upload.private_status, "unverified")
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Entrant.name, score.label("score"), Upload.created_at, Entrant.id.label("entrant_id"),
                       Upload.id.label("submission_id"), status.label("verify_status"),
                       Upload.notebook.is_not(None).label("has_notebook"))
                .join(Upload, Upload.id == chosen)
                .order_by(score.is_(None), score.desc(), Upload.created_at, Upload.id)
            ).all()
        ranks = iter(range(1, len(rows) + 1))
        return [
            BoardRow(None if row.score is None else next(ranks), row.name, row.score, row.created_at,
                     row.entrant_id, row.submission_id, row.verify_status, bool(row.has_notebook))
            for row in rows
        ]

    def standings(self, private: bool = False) -> list[BoardRow]:
        """The board as students see it. Public: entries that are verified or pending ranked
        1, 2, ... in board order, then the others unranked (rank None) with their state. Private
        (the final board): ranked by the close re-run's score, flagged by its state; the winners
        are the best verified ones."""
        rows = self.board(private=private)
        if private:
            return rows
        ranked = [row for row in rows if row.state in RANKED_STATES]
        return ([replace(row, rank=rank) for rank, row in enumerate(ranked, start=1)]
                + [replace(row, rank=None) for row in rows if row.state not in RANKED_STATES])

    def student_stats(self) -> list[dict]:
        """Per student: entrant, submissions in total and today, scores (instructor view)."""
        day = self.clock().date().isoformat()
        chosen = func.coalesce(Entrant.selected_submission_id, Entrant.best_submission_id)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Student.student_id, Entrant.id.label("entrant_id"), Entrant.name, Entrant.is_team,
                       Entrant.n_submissions, Entrant.best_score, DailyCount.count.label("today"),
                       Upload.id.label("final_id"), Upload.public_score, Upload.private_score, Upload.verify_status,
                       Upload.private_status, Entrant.selected_submission_id)
                .join(Entrant, Entrant.id == Student.entrant_id)
                .outerjoin(DailyCount, (DailyCount.entrant_id == Entrant.id) & (DailyCount.day == day))
                .outerjoin(Upload, Upload.id == chosen)
                .order_by(Student.student_id)
            ).all()
        return [
            {"student": row.student_id, "entrant_id": row.entrant_id, "entrant": row.name, "team": row.is_team,
             "submissions": row.n_submissions, "today": row.today or 0, "public_score": row.best_score,
             "final_submission": row.final_id, "chosen_by_student": row.selected_submission_id is not None,
             "final_public_accuracy": row.public_score, "final_private_accuracy": row.private_score,
             "verify_status": row.verify_status, "private_status": row.private_status}
            for row in rows
        ]
