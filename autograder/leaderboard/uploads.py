"""Uploads: accepting a predictions file under the daily quota, an entrant's history, the final pick.

Each accepted upload is written in one transaction that locks the entrant's row, takes one
unit of the day's quota with a conditional ``UPDATE`` (so the limit holds under any
concurrency), applies the Ladder and inserts the row; a file that fails validation never
reaches the database.

The public board ranks an entry only when its best submission has a notebook that can be
re-run (:mod:`.boards`), so a submission of *the same predictions* as the best, with a notebook,
takes the best's place when the best has none or was found not reproducible: the Ladder's score
stays (the predictions are identical, nothing new is learnt about the hidden labels) and the
entry becomes pending again, to be verified with the new notebook.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, bindparam, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from autograder.leaderboard.accounts import AccountStore, Principal
from autograder.leaderboard.competition import CLOSES_AT, Settings, has_closed
from autograder.leaderboard.database import iso
from autograder.leaderboard.errors import NotFound, SubmissionRejected
from autograder.leaderboard.ladder import FIXED, FREE, Step, ladder_answer, pack
from autograder.leaderboard.models import DailyCount, Entrant, Student, Upload
from autograder.leaderboard.validate import InvalidSubmission, parse_predictions

_ENTRANT, _UPLOAD, _DAILY = Entrant.__table__, Upload.__table__, DailyCount.__table__
_LOCK_ENTRANT = (select(_ENTRANT.c.best_score, _ENTRANT.c.best_correct, _ENTRANT.c.n_submissions,
                        _ENTRANT.c.since_best)
                 .where(_ENTRANT.c.id == bindparam("entrant")).with_for_update())
_INSERT_UPLOAD = insert(_UPLOAD).returning(_UPLOAD.c.id)
_COUNT_ENTRANT = (update(_ENTRANT).where(_ENTRANT.c.id == bindparam("entrant"))
                  .values(n_submissions=_ENTRANT.c.n_submissions + 1, since_best=_ENTRANT.c.since_best + 1))
_MOVE_ENTRANT = _COUNT_ENTRANT.values(best_score=bindparam("best"), best_submission_id=bindparam("submission"),
                                      best_correct=bindparam("correct"), since_best=0)
# the best's predictions, when they equal the new ones and its notebook cannot be re-run
_UNRANKABLE_TWIN = select(_UPLOAD.c.id).where(
    _UPLOAD.c.id == bindparam("best"), _UPLOAD.c.predictions == bindparam("predictions"),
    or_(_UPLOAD.c.notebook.is_(None), _UPLOAD.c.verify_status == "not_reproducible"))
# ... and it takes the best's place; it was no try against the best (zero difference, it could not move)
_REPLACE_BEST = update(_ENTRANT).where(_ENTRANT.c.id == bindparam("entrant")).values(
    best_submission_id=bindparam("submission"), since_best=_ENTRANT.c.since_best - 1)
# INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 WHERE count < :limit RETURNING count
_QUOTA = {
    name: dialect_insert(_DAILY).on_conflict_do_update(
        index_elements=[_DAILY.c.entrant_id, _DAILY.c.day], set_={"count": _DAILY.c.count + 1},
        where=_DAILY.c.count < bindparam("limit"),
    ).returning(_DAILY.c.count)
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


@dataclass(frozen=True)
class SubmitResult:
    """The outcome of an accepted submission as the student may see it."""

    id: int
    public_score: float
    moved: bool
    submitted_at: datetime
    remaining_today: int
    message: str


def check_notebook(data: bytes, limit: int) -> None:
    """Refuse an attached notebook that is too large or not a notebook."""
    if len(data) > limit:
        raise SubmissionRejected(f"the notebook is {len(data):,} bytes; the limit is {limit:,} bytes", "too_large")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise SubmissionRejected("the attached notebook is not a Jupyter notebook (.ipynb JSON)", "invalid") from None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        raise SubmissionRejected("the attached notebook is not a Jupyter notebook (no cells)", "invalid")


def ladder_message(settings: Settings, reported: float, moved: bool) -> str:
    """What the student is told about the public score the Ladder reported."""
    if moved:
        return f"public score {reported:.3f}: a new best, the board moved"
    if settings.ladder == FIXED:
        return (f"public score {reported:.3f} (unchanged): this submission did not beat your best "
                f"by more than {settings.eta:g}")
    margin = ("the standard error of the difference" if settings.ladder == FREE else
              "a multiple of the standard error of the difference that grows with your tries against it")
    return (f"public score {reported:.3f} (unchanged): this submission did not beat your best "
            f"by more than {margin} (not shown: it depends on the hidden labels)")


class UploadStore(AccountStore):
    """Accepted uploads, the daily quota and each entrant's final selection."""

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
        settings = self.fixed_settings()
        key = self.answer_key()
        try:
            predictions = parse_predictions(data, key.test_ids, key.n_classes, settings.max_bytes)
        except InvalidSubmission as exc:
            raise SubmissionRejected(str(exc), "too_large" if exc.too_large else "invalid") from None
        if notebook is not None:
            check_notebook(notebook, settings.max_notebook_bytes)
        row = {"filename": (filename or "predictions.csv")[:255], "sha256": hashlib.sha256(data).hexdigest(),
               "n_bytes": len(data), "predictions": predictions.tobytes(), "public_score": key.score(predictions),
               "notebook": notebook,
               "notebook_name": (notebook_name or None) and notebook_name[:255], "verify_status": "unverified"}
        with self.write_connection() as conn:  # prepared Core statements on the hot path
            upload_id, step, now, taken = self._record(conn, who, settings, row, key.public_correct(predictions))
            replaced = (not step.moved and notebook is not None
                        and self._replace_unrankable_best(conn, who, row, upload_id))
        message = ladder_message(settings, step.reported, step.moved)
        if replaced:
            message += "; the same predictions as your best, now with a notebook: they stand for your entry"
        elif step.moved and notebook is None:
            message += ("; no notebook attached: the board lists the entry unranked until you submit the same file "
                        "again with the notebook that produced it")
        return SubmitResult(upload_id, step.reported, step.moved, now, settings.daily_limit - taken, message)

    @staticmethod
    def _replace_unrankable_best(conn: Connection, who: Principal, row: dict, upload_id: int) -> bool:
        """Let upload ``upload_id`` stand for the entry when it repeats the best's predictions and the
        best has no notebook or was not reproducible; return whether it did."""
        best = conn.execute(select(_ENTRANT.c.best_submission_id).where(_ENTRANT.c.id == who.entrant_id)).scalar_one()
        if conn.execute(_UNRANKABLE_TWIN, {"best": best, "predictions": row["predictions"]}).first() is None:
            return False
        conn.execute(_REPLACE_BEST, {"entrant": who.entrant_id, "submission": upload_id})
        return True

    def _record(self, conn: Connection, who: Principal, settings: Settings, row: dict,
                correct: np.ndarray) -> tuple[int, Step, datetime, int]:
        """Take a unit of today's quota, apply the Ladder and insert ``row``; return (id, step, time, units used)."""
        closes_at = conn.execute(CLOSES_AT).scalar_one()
        entrant = conn.execute(_LOCK_ENTRANT, {"entrant": who.entrant_id}).one()
        now = self.clock()  # taken under the lock: ids and times agree
        if has_closed(closes_at, now):
            raise SubmissionRejected("the competition is closed", "closed")
        limit = settings.daily_limit
        taken = conn.execute(  # one unit of today's quota, or no row when it is used up
            _QUOTA[conn.dialect.name],
            {"entrant_id": who.entrant_id, "day": now.date().isoformat(), "count": 1, "limit": limit},
        ).scalar_one_or_none()
        if taken is None:
            raise SubmissionRejected(
                f"daily limit reached: {limit} submissions per UTC day; try again after midnight UTC", "limit")
        step = ladder_answer(settings.ladder, settings.eta, entrant.best_score, entrant.best_correct, correct,
                             alpha=settings.alpha, tries=(entrant.since_best or 0) + 1)
        upload_id = conn.execute(_INSERT_UPLOAD, {
            **row, "entrant_id": who.entrant_id, "student_pk": who.student_pk, "seq": entrant.n_submissions + 1,
            "created_at": now, "reported_score": step.reported, "moved": step.moved,
        }).scalar_one()
        if step.moved:
            conn.execute(_MOVE_ENTRANT, {"entrant": who.entrant_id, "best": step.reported, "submission": upload_id,
                                         "correct": pack(correct)})
        else:
            conn.execute(_COUNT_ENTRANT, {"entrant": who.entrant_id})
        return upload_id, step, now, taken

    def history(self, who: Principal) -> list[dict]:
        """The caller's entrant's submissions, newest first, as the student may see them."""
        with self.engine.connect() as conn:
            selected = conn.execute(
                select(Entrant.selected_submission_id).where(Entrant.id == who.entrant_id)
            ).scalar_one()
            rows = conn.execute(
                select(Upload.id, Upload.seq, Upload.created_at, Upload.filename, Upload.reported_score,
                       Upload.moved, Student.student_id, Upload.notebook_name)
                .join(Student, Student.id == Upload.student_pk)
                .where(Upload.entrant_id == who.entrant_id)
                .order_by(Upload.id.desc())
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
        return max(0, self.fixed_settings().daily_limit - (used or 0))

    def select_final(self, who: Principal, submission_id: int | None) -> None:
        """Choose the submission for the private board (None: back to the best public one)."""
        with self.write_session() as session:
            if has_closed(self.competition_row(session).closes_at, self.clock()):
                raise SubmissionRejected("the competition is closed; the selection is final", "closed")
            entrant = session.get(Entrant, who.entrant_id, with_for_update=True)
            if submission_id is not None:
                owner = session.execute(
                    select(Upload.entrant_id).where(Upload.id == submission_id)
                ).scalar_one_or_none()
                if owner != who.entrant_id:
                    raise NotFound(f"no submission {submission_id} of yours")
            entrant.selected_submission_id = submission_id
