"""Automatic verification: an entry that enters the top of the board is re-run as soon as it gets there.

:func:`verify_pending` takes the public board (as ``autograder leaderboard verify`` does),
keeps the entries that may take a rank (verified or pending, see :mod:`.boards`) and re-runs,
one at a time, each of the first ``top`` of them that is still pending, with
:func:`.verify.check_submission` on the verification set.
An entry found not reproducible drops out of the ranking, so the next one moves up into the top
and is checked in turn: the top ``top`` ranks end up held by verified entries only.

:class:`AutoVerifier` does that in a background thread of ``autograder leaderboard serve``:
it looks for pending entries every ``poll_seconds``, runs one notebook at a time (in the
grading sandbox; the web app never runs student code and keeps answering while a run goes on),
records an unexpected crash of one run as that entry's failure and carries on, and stops
between runs on :meth:`AutoVerifier.stop`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from autograder.leaderboard.boards import PENDING, RANKED_STATES, BoardRow
from autograder.leaderboard.store import Leaderboard
from autograder.leaderboard.verify import Check, Outcome, board_accuracy, check_submission

STOP_GRACE_SECONDS = 5.0  # how long stop() waits for a run in progress


def next_pending(lb: Leaderboard, top: int) -> tuple[int, BoardRow] | None:
    """The best pending entry among the first ``top`` that may take a rank, with its rank; None if none."""
    contenders = [row for row in lb.board() if row.state in RANKED_STATES][:top]
    return next(((rank, row) for rank, row in enumerate(contenders, start=1) if row.state == PENDING), None)


def run_check(lb: Leaderboard, submission_id: int, check: Check) -> tuple[str, str, float, float | None]:
    """:func:`.verify.check_submission`, with any unexpected exception turned into a failure of that entry."""
    try:
        return check_submission(lb, submission_id, check)
    except Exception as exc:  # a crash of one run (sandbox, runner, bad data) must not stop the others
        board, _ = board_accuracy(lb, submission_id)
        detail = (f"the run on the {check.swap.name} crashed ({type(exc).__name__}: {str(exc)[:200]}); "
                  "`autograder leaderboard verify --force` (the private half: `close` again) runs it again")
        return "not_reproducible", detail, board, None


def verify_pending(lb: Leaderboard, top: int, check: Check, stop: threading.Event | None = None,
                   on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Verify, one at a time, the pending entries among the top ``top`` of the public board until
    none is left (or ``stop`` is set); return the outcomes, each recorded (and given to
    ``on_outcome``) as it is decided."""
    outcomes: list[Outcome] = []
    while stop is None or not stop.is_set():
        found = next_pending(lb, top)
        if found is None:
            break
        rank, row = found
        status, detail, submitted, again = run_check(lb, row.submission_id, check)
        lb.record_verification(row.submission_id, status, detail, again)
        outcomes.append(Outcome(rank, row.student, row.submission_id, status, submitted, again, detail))
        if on_outcome is not None:
            on_outcome(outcomes[-1])
    return outcomes


class AutoVerifier:
    """A background thread that keeps the top ``top`` entries of the board verified."""

    def __init__(self, lb: Leaderboard, top: int, check: Check, poll_seconds: float = 5.0,
                 report: Callable[[str], None] = print):
        self.lb, self.top, self.check, self.poll_seconds, self.report = lb, top, check, poll_seconds, report
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="auto-verify", daemon=True)

    def start(self) -> AutoVerifier:
        """Start the thread; return self."""
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look for pending entries now rather than at the next poll."""
        self._wake.set()

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> bool:
        """Stop after the run in progress; wait up to ``grace`` seconds for it. Return whether the
        thread ended. If not, the run goes on in the daemon thread and is recorded if it ends first;
        when the process exits before, the sandbox dies with the thread that started it (bubblewrap's
        ``--die-with-parent``) and nothing is recorded: the entry stays pending for the next start."""
        self._stop.set()
        self._wake.set()
        self._thread.join(grace)
        return not self._thread.is_alive()

    def _log(self, outcome: Outcome) -> None:
        self.report(f"auto-verify: #{outcome.rank} {outcome.student} (submission {outcome.submission_id}): "
                    f"{outcome.status} - {outcome.detail}")

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # a wake() during this pass starts the next one at once
            try:
                verify_pending(self.lb, self.top, self.check, self._stop, self._log)
            except Exception as exc:  # the database went away for a moment, say: try again at the next poll
                self.report(f"auto-verify: {type(exc).__name__}: {str(exc)[:200]} (trying again)")
            self._wake.wait(self.poll_seconds)
