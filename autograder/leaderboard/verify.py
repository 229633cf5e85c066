"""Reproducibility check: re-run the top entries' notebooks and compare their predictions.

The check walks down the board as the instructor used to by hand: it re-runs the selected
submission's attached notebook, validates the ``predictions.csv`` it writes, and marks the
entry ``verified`` when the re-run accuracy (whole test set) is within the tolerance of the
submitted one, ``not_reproducible`` otherwise (no notebook, a failing notebook, an invalid
or too different file); it goes on until ``top`` entries are verified or the board ends.

Running a notebook is the job of a :data:`NotebookRunner`: given the notebook's bytes and
the competition folder (train/valid/test images, no labels), it runs the notebook with that
folder as ``QUICKDRAW_COMPETITION`` and returns the bytes of the ``predictions.csv`` it
wrote, or raises :class:`RunFailed`. The default runner uses the grading sandbox.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from autograder.leaderboard.store import Leaderboard
from autograder.leaderboard.validate import InvalidSubmission, parse_predictions

NotebookRunner = Callable[[bytes, Path], bytes]


class RunFailed(Exception):
    """The notebook could not produce predictions (error, timeout, no predictions.csv)."""


@dataclass(frozen=True)
class Outcome:
    """The result of checking one board entry."""

    rank: int
    student: str
    submission_id: int
    status: str  # verified | not_reproducible
    submitted_accuracy: float
    rerun_accuracy: float | None
    detail: str

    def as_json(self) -> dict:
        return dict(self.__dict__)


def check_submission(
    lb: Leaderboard, submission_id: int, runner: NotebookRunner, competition_dir: Path, tolerance: float
) -> tuple[str, str, float, float | None]:
    """Re-run one submission; return (status, detail, submitted accuracy, re-run accuracy)."""
    key = lb.answer_key()
    stored_bytes, notebook, _ = lb.submission_for_verify(submission_id)
    stored = np.frombuffer(stored_bytes, dtype=np.uint8)
    submitted = key.score(stored).overall
    if notebook is None:
        return "not_reproducible", "no notebook was attached to this submission", submitted, None
    try:
        output = runner(notebook, competition_dir)
    except RunFailed as exc:
        return "not_reproducible", f"the notebook did not run: {exc}", submitted, None
    try:
        rerun = parse_predictions(output, key.test_ids, key.n_classes, lb.settings().max_bytes)
    except InvalidSubmission as exc:
        return "not_reproducible", f"the re-run wrote an invalid predictions.csv: {exc}", submitted, None
    again = key.score(rerun).overall
    agreement = float(np.mean(rerun == stored))
    detail = f"re-run accuracy {again:.4f} vs submitted {submitted:.4f}; {agreement:.1%} of predictions agree"
    status = "verified" if abs(again - submitted) <= tolerance else "not_reproducible"
    return status, detail, submitted, again


def verify_top(
    lb: Leaderboard,
    top: int,
    runner: NotebookRunner,
    competition_dir: Path,
    *,
    tolerance: float | None = None,
    private: bool | None = None,
    force: bool = False,
    progress: bool = True,
) -> list[Outcome]:
    """Check board entries from the top until ``top`` are verified; return every outcome.

    ``private`` picks the board (default: the private one once the competition closed, else
    the public one). Entries decided by an earlier run keep their status without a re-run
    unless ``force``.
    """
    tolerance = lb.settings().tolerance if tolerance is None else tolerance
    if private is None:
        private = lb.is_closed()
    outcomes: list[Outcome] = []
    verified = 0
    rows = lb.board(private=private)
    with tqdm(total=min(top, len(rows)), desc="verifying", unit="entry", disable=not progress) as bar:
        for row in rows:
            if verified >= top:
                break
            if row.verify_status != "unverified" and not force:  # decided by an earlier run
                stored, _, _ = lb.submission_for_verify(row.submission_id)
                submitted = lb.answer_key().score(np.frombuffer(stored, dtype=np.uint8)).overall
                status, detail, again = row.verify_status, f"{row.verify_status.replace('_', ' ')} earlier", None
            else:
                status, detail, submitted, again = check_submission(
                    lb, row.submission_id, runner, competition_dir, tolerance
                )
                lb.record_verification(row.submission_id, status, detail, again)
            outcomes.append(Outcome(row.rank, row.student, row.submission_id, status, submitted, again, detail))
            if status == "verified":
                verified += 1
                bar.update(1)
    return outcomes


def sandbox_runner(timeout: float) -> NotebookRunner:
    """The runner backed by the grading sandbox (:func:`autograder.sandbox.run_notebook`):
    the notebook runs once in a fresh sandbox with the competition folder mounted read-only at
    ``competition/`` (``$QUICKDRAW_COMPETITION``), and its ``predictions.csv`` is read back."""
    from autograder.sandbox import Limits, require_sandbox, run_notebook

    require_sandbox()  # a clear error when this machine cannot sandbox
    limits = Limits().with_(notebook_timeout=timeout, cell_timeout=timeout, cpu_seconds=int(timeout) + 60)

    def run(notebook: bytes, competition_dir: Path) -> bytes:
        with tempfile.TemporaryDirectory(prefix="leaderboard-verify-") as folder:
            path = Path(folder) / "submission.ipynb"
            path.write_bytes(notebook)
            result = run_notebook(path, files={"competition": competition_dir},
                                  env={"QUICKDRAW_COMPETITION": "{home}/competition"},
                                  collect=["predictions.csv"], limits=limits)
        if "predictions.csv" not in result.files:
            why = f"{result.status}: {result.error}" if result.error else result.status
            raise RunFailed(f"no predictions.csv after the run ({why})")
        return result.files["predictions.csv"]

    return run
