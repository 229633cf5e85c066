"""The leaderboard's operations on its database: :class:`Leaderboard`, used by the web app and the CLI.

Each concern is its own module and contributes one base class: the database and its sessions
(:mod:`.database`), the competition and its rules (:mod:`.competition`), accounts and teams
(:mod:`.accounts`), uploads under the daily quota (:mod:`.uploads`), the boards
(:mod:`.boards`), the records of reproducibility checks (:mod:`.verify_records`), and the homework
handed in (:mod:`.handins`) with its grading queue (:mod:`.attempt_queue`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from autograder.leaderboard.attempt_queue import AttemptQueue
from autograder.leaderboard.boards import BoardViews
from autograder.leaderboard.roster import RosterEntry
from autograder.leaderboard.scoring import read_answer_key, read_classes
from autograder.leaderboard.uploads import UploadStore
from autograder.leaderboard.verify_records import VerificationRecords


class Leaderboard(UploadStore, BoardViews, VerificationRecords, AttemptQueue):
    """A competition stored in one database (SQLite file or PostgreSQL), and the course's handed-in homework."""


def create_course_database(url: str, data: Path, students: Iterable[str]) -> tuple[dict[str, str], str]:
    """Make the course's database at ``url`` on the prepared competition in ``data`` with the roster
    ``students``; return (token by student, the instructor's token)."""
    lb = Leaderboard(url)
    try:
        classes = read_classes(str(data / "competition" / "classes.txt"))
        instructor = lb.initialize(read_answer_key(data / "instructor" / "competition_labels.csv", classes))
        tokens = dict(lb.add_students([RosterEntry(student) for student in students]))
    finally:
        lb.dispose()
    return tokens, instructor
