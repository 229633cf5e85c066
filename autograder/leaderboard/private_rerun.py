"""The private board of a code competition: at close, each entrant's final notebook is re-run on
the private half of the test set, whose images were never released.

``autograder data quickdraw prepare competition`` releases only the public half's test images;
the private half lies, laid out like the released test folder, in
``data/quickdraw/instructor/competition_private/`` (labels beside it). An uploaded predictions
file is scored on the public half alone. :func:`score_private_half` takes each entrant's final
submission (the one it selected, else its best public one) and runs its notebook as verification
does (:func:`.verify.check_submission`: code cells only, the code-size cap, the grading sandbox,
no network) with the private images in place of the test folder. The run's accuracy is the
entry's private score; the entry is **verified** when that accuracy agrees with its public
accuracy within verification's noise margin. An entry without a notebook (or whose run fails)
gets no private score and is listed unranked on the private board, its state saying why.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from tqdm import tqdm

from autograder.leaderboard.autoverify import run_check
from autograder.leaderboard.store import Leaderboard
from autograder.leaderboard.verify import Check, Outcome

PRIVATE_HALF = "private half"


def score_private_half(lb: Leaderboard, check: Check, workers: int = 1, force: bool = False,
                       progress: bool = True) -> list[Outcome]:
    """Re-run every entrant's final notebook on ``check.swap`` (the private half), ``workers``
    sandboxes at a time, and record each private score and status; an entry scored by an earlier
    close keeps its score unless ``force``. Return the outcomes in private-board order."""
    rows = [row for row in lb.board(private=True) if force or row.score is None]

    def rerun(row) -> Outcome:
        status, detail, public, private = run_check(lb, row.submission_id, check)
        lb.record_private(row.submission_id, status, detail, private)
        return Outcome(0, row.student, row.submission_id, status, public, private, detail)

    with ThreadPoolExecutor(max_workers=workers) as pool, \
            tqdm(total=len(rows), desc="private re-runs", unit="entry", disable=not progress) as bar:
        outcomes = []
        for outcome in pool.map(rerun, rows):
            outcomes.append(outcome)
            bar.update(1)
    ranks = {row.submission_id: row.rank for row in lb.board(private=True)}
    ranked = [replace(outcome, rank=ranks.get(outcome.submission_id)) for outcome in outcomes]
    return sorted(ranked, key=lambda outcome: (outcome.rank is None, outcome.rank or 0))
