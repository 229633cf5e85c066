"""The grading queue of handed-in attempts, kept in their table: claim, heartbeat, finish, recover.

A worker claims the oldest queued attempt with a conditional ``UPDATE ... WHERE state = 'queued'``
(one claimant wins, on SQLite and PostgreSQL alike) and writes its result with an ``UPDATE`` that
holds only while the row is still claimed by that worker, so a result comes in at most once.
A worker is named ``host:pid:run``; it refreshes ``heartbeat_at`` of its running rows. On start a
worker re-queues the rows left running by a dead one: same host and no such process, or (another
host, or a pid reused since) no heartbeat for :data:`LEASE`. A run that was cut short counts as a
try; after :data:`MAX_TRIES` the attempt is failed instead of being run again.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, select, update
from sqlalchemy.orm import undefer

from autograder.leaderboard.handins import HandinStore, graded_choice
from autograder.leaderboard.homework_models import DONE, FAILED, QUEUED, RUNNING, Attempt
from autograder.leaderboard.models import Student
from autograder.sandbox.procfs import is_running

LEASE = timedelta(seconds=60)  # a running row without a heartbeat for this long has lost its worker
MAX_TRIES = 3


@dataclass(frozen=True)
class Claimed:
    """An attempt a worker now runs: what grading it needs."""

    id: int
    student: str
    assignment: str
    notebook_name: str
    data: bytes
    seed: int


def worker_is_dead(claimed_by: str | None) -> bool:
    """Whether the worker named ``claimed_by`` (``host:pid:run``) is known dead: it ran on this host
    and its process is gone (a worker elsewhere is judged by its heartbeat alone)."""
    host, _, rest = (claimed_by or "").partition(":")
    pid = rest.partition(":")[0]
    return host == socket.gethostname() and pid.isdigit() and not is_running(int(pid))


class AttemptQueue(HandinStore):
    """The queue operations of the attempts table."""

    def claim(self, worker: str) -> Claimed | None:
        """Mark the oldest queued attempt running for ``worker`` and return it (None: nothing queued)."""
        while True:
            with self.read_session() as session:
                attempt_id = session.scalar(select(Attempt.id).where(Attempt.state == QUEUED)
                                            .order_by(Attempt.id).limit(1))
            if attempt_id is None:
                return None
            now = self.clock()
            with self.write_connection() as conn:
                won = conn.execute(update(Attempt).where(Attempt.id == attempt_id, Attempt.state == QUEUED)
                                   .values(state=RUNNING, claimed_by=worker, heartbeat_at=now, started_at=now,
                                           tries=Attempt.tries + 1)).rowcount
            if won:
                return self._claimed(attempt_id)

    def _claimed(self, attempt_id: int) -> Claimed:
        with self.read_session() as session:
            row = session.execute(select(Attempt, Student.student_id).join(Student, Student.id == Attempt.student_pk)
                                  .where(Attempt.id == attempt_id).options(undefer(Attempt.data))).one()
            attempt = row[0]
            return Claimed(attempt.id, row.student_id, attempt.assignment, attempt.notebook_name,
                           bytes(attempt.data), attempt.seed)

    def heartbeat(self, worker: str) -> None:
        """Say that ``worker`` still runs its attempts."""
        with self.write_connection() as conn:
            conn.execute(update(Attempt).where(Attempt.state == RUNNING, Attempt.claimed_by == worker)
                         .values(heartbeat_at=self.clock()))

    def finish(self, worker: str, attempt_id: int, *, failed: bool, score: float | None, max_score: float | None,
               visible: str | None, hidden: str | None) -> bool:
        """Record the result of ``worker``'s run; False (nothing written) when the row is no longer its own."""
        with self.write_connection() as conn:
            return bool(conn.execute(
                update(Attempt).where(Attempt.id == attempt_id, Attempt.state == RUNNING, Attempt.claimed_by == worker)
                .values(state=FAILED if failed else DONE, finished_at=self.clock(), score=score, max_score=max_score,
                        visible=visible, hidden=hidden)).rowcount)

    def give_back(self, worker: str, attempt_id: int) -> None:
        """Queue again an attempt whose run was cut short (its worker process died)."""
        with self.write_connection() as conn:
            conn.execute(update(Attempt).where(Attempt.id == attempt_id, Attempt.state == RUNNING,
                                               Attempt.claimed_by == worker).values(**_requeued()))

    def regrade_all(self, assignment: str) -> int:
        """Queue again each student's graded attempt at ``assignment`` that has finished (one still
        queued or running is left alone, so nothing runs twice); no new attempt is stored, so no
        student's hourly limit is touched, and a student may hand in while their regrade waits.
        Return how many were queued."""
        by_student: dict[str, list] = {}
        for attempt in self.all_attempts(assignment):
            by_student.setdefault(attempt.student, []).append(attempt)
        chosen = [graded_choice(attempts) for attempts in by_student.values()]
        ids = [a.id for a in chosen if a is not None and a.state in (DONE, FAILED)]
        if not ids:
            return 0
        with self.write_connection() as conn:
            return conn.execute(update(Attempt).where(Attempt.id.in_(ids), Attempt.state.in_((DONE, FAILED)))
                                .values(state=QUEUED, regrade=True, tries=0, claimed_by=None, heartbeat_at=None,
                                        started_at=None, finished_at=None, score=None, max_score=None, visible=None,
                                        hidden=None)).rowcount

    def recover(self, worker: str) -> int:
        """Queue again every attempt left running by a dead worker (see the module's docstring);
        return how many."""
        stale = self.clock() - LEASE
        with self.read_session() as session:
            running = session.execute(select(Attempt.id, Attempt.claimed_by, Attempt.heartbeat_at)
                                      .where(Attempt.state == RUNNING, Attempt.claimed_by != worker)).all()
        lost = [row.id for row in running if worker_is_dead(row.claimed_by)
                or row.heartbeat_at is None or row.heartbeat_at < stale]
        if not lost:
            return 0
        with self.write_connection() as conn:
            conn.execute(update(Attempt).where(Attempt.id.in_(lost), Attempt.state == RUNNING).values(**_requeued()))
        return len(lost)


def _requeued() -> dict:
    """The columns of a run cut short: queued again, or failed once it was tried too often."""
    exhausted = Attempt.tries >= MAX_TRIES
    return {"state": _case(exhausted, FAILED, QUEUED), "claimed_by": None, "heartbeat_at": None,
            "visible": _case(exhausted, '{"error": "grading stopped every time it was tried"}', None)}


def _case(condition, when_true, when_false):
    return case((condition, when_true), else_=when_false)
