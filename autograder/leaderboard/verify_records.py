"""What reproducibility verification reads from and writes to the database."""

from __future__ import annotations

from sqlalchemy import select, update

from autograder.leaderboard.database import Database
from autograder.leaderboard.models import Upload


class VerificationRecords(Database):
    """An upload's stored predictions and notebook, and the outcome of re-running it."""

    def submission_for_verify(self, submission_id: int) -> tuple[bytes, bytes | None, str]:
        """(stored predictions, attached notebook or None, current verify status)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(Upload.predictions, Upload.notebook, Upload.verify_status).where(Upload.id == submission_id)
            ).one()
        return row.predictions, row.notebook, row.verify_status

    def record_verification(self, submission_id: int, status: str, detail: str, score: float | None) -> None:
        """Store the outcome of a reproducibility check."""
        with self.write_session() as session:
            session.execute(
                update(Upload).where(Upload.id == submission_id)
                .values(verify_status=status, verify_detail=detail, verify_score=score)
            )

    def record_private(self, submission_id: int, status: str, detail: str, score: float | None) -> None:
        """Store the close re-run on the private half: its accuracy (None: not run) and whether it agrees."""
        with self.write_session() as session:
            session.execute(
                update(Upload).where(Upload.id == submission_id)
                .values(private_status=status, private_detail=detail, private_score=score)
            )
