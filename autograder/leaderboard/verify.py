"""Verification on a swapped test set: re-run the top entries' notebooks on drawings they never saw.

As code competitions do, the check walks down the board and re-runs each selected
submission's attached notebook in the grading sandbox with the competition's training data
and, in place of the released test images, the **verification set**: drawings of the same
classes, as many as the test set, drawn with the instructor's secret and never released
(``data/quickdraw/instructor/competition_verification/``, labels beside it). A notebook that
trains a model scores about as well there as on the board; one that wrote labels it looked
up, memorised or smuggled in has nothing to look up and falls to chance (or fails to write
predictions for ids it has never seen).

Only the notebook's **code** travels: before the run it is reduced to its code cells' sources
(no outputs, attachments, markdown or metadata reach the sandbox), and code over
``max_code_bytes`` (default 32 KiB, three times the largest notebook of the course) is not run:
the rules forbid external data and pretrained weights, and the cap is what makes that rule hold
for the competition's own source. The public QuickDraw files hold every hidden drawing, so a
notebook that carried them (15,000 drawings: about 600 KiB even bit-packed and compressed) could
look up the verification set as well as the test set; within the cap, a nearest-neighbour index
of the public drawings has under 2.2 bytes per drawing and classifies worse than a small trained
MLP (``bench/bench_lookup.py``). Each outcome's detail names the code's size and its largest
literal, so a blob of weights stands out to the staff who read the winner's notebook.

An entry is **verified** when its accuracy on the verification set is at least its accuracy
on the public half minus a margin for sampling noise: the two
accuracies are estimates of one true accuracy p from n_b and n_v independent images, so
under that hypothesis their difference has standard error sqrt(p (1 - p) (1/n_b + 1/n_v))
(p pooled from both). The margin is z times that, z the one-sided normal quantile of
``confidence`` (default 0.999, z = 3.09: one honest entry in a thousand is flagged), and never
less than the competition's ``tolerance``. For n_b = 1000 public and n_v = 2000 verification
images the margin is 0.036 at p = 0.90, 0.026 at p = 0.95, 0.039 at p = 0.88, 0.048 at p = 0.80.
The confidence is high on purpose: the entries checked are the board's best, whose scores
are biased upwards by being the maximum of many noisy ones.

Who runs it: :func:`verify_top` (``autograder leaderboard verify``, by hand) walks a board
down until ``top`` entries are verified; :mod:`.autoverify` (a thread of ``autograder
leaderboard serve``, ``--auto-verify-top``) checks every pending entry as soon as it enters the
top of the board, so looked-up labels do not stay on the public board until someone runs
``verify``. Both decide each entry with :func:`check_submission`; an entry found not
reproducible, or without a notebook, is listed unranked on the public board (:mod:`.boards`).

Running a notebook is the job of a :data:`NotebookRunner`: given the notebook's bytes, the
competition folder and the test folder, it runs the notebook with them as
``QUICKDRAW_COMPETITION`` and ``QUICKDRAW_COMPETITION_TEST`` and returns the bytes of the
``predictions.csv`` it wrote, or raises :class:`RunFailed`. The default runner uses the
grading sandbox: no network, the course environment only.
"""

from __future__ import annotations

import ast
import csv
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import nbformat
import numpy as np
from IPython.core.inputtransformer2 import TransformerManager
from tqdm import tqdm

from autograder.errors import UserError
from autograder.leaderboard.store import Leaderboard
from autograder.leaderboard.validate import InvalidSubmission, TestIds, parse_predictions
from autograder.proxy.run import run_notebook
from autograder.sandbox.limits import Limits
from autograder.sandbox.probe import require_sandbox

NotebookRunner = Callable[[bytes, Path, Path], bytes]
DEFAULT_CONFIDENCE = 0.999
DEFAULT_MAX_CODE_BYTES = 32 * 1024


class RunFailed(Exception):
    """The notebook could not produce predictions (error, timeout, no predictions.csv)."""


@dataclass(frozen=True)
class SwapSet:
    """The never-released verification set: the folder a notebook reads and its labels."""

    folder: Path  # holds test.csv (id,filename) and the images, laid out like competition/
    ids: TestIds
    labels: np.ndarray  # one per id, in the order of ``ids``
    name: str = "verification set"  # or "private half" (the close re-runs, :mod:`.private_rerun`)

    def accuracy(self, predictions: np.ndarray) -> float:
        return float(np.mean(predictions == self.labels))


@dataclass(frozen=True)
class Code:
    """What verification runs of a notebook: its code cells alone, and how big they are."""

    notebook: bytes  # a notebook holding only the code cells' sources
    size: int  # bytes of code (UTF-8)
    largest_literal: int  # bytes of source spanned by its largest literal (string, bytes, list, dict...)

    def describe(self) -> str:
        return f"code {self.size / 1024:.1f} KiB, largest literal {self.largest_literal / 1024:.1f} KiB"


def code_of(notebook: bytes) -> Code:
    """Reduce an attached notebook to its code cells; raise :class:`RunFailed` if it is not a notebook."""
    try:
        cells = nbformat.reads(notebook.decode("utf-8"), as_version=4).cells
        sources = [cell.source for cell in cells if cell.get("cell_type") == "code"]
    except Exception as exc:  # not JSON, not a notebook, not UTF-8: whatever nbformat raises
        raise RunFailed(f"the attachment is not a readable notebook ({type(exc).__name__})") from None
    reduced = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    return Code(nbformat.writes(reduced).encode(), sum(len(s.encode()) for s in sources),
                max((largest_literal(source) for source in sources), default=0))


_LITERALS = (ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.JoinedStr)


def largest_literal(source: str) -> int:
    """Bytes of source spanned by the biggest literal of one cell (its longest line if it does not parse)."""
    try:
        python = TransformerManager().transform_cell(source)  # IPython magics become plain Python
        tree = ast.parse(python)
    except (SyntaxError, ValueError):
        return max((len(line.encode()) for line in source.splitlines()), default=0)
    starts = [0]  # byte offset of each line (ast's column offsets are in UTF-8 bytes)
    for line in python.splitlines(keepends=True):
        starts.append(starts[-1] + len(line.encode()))
    spans = [starts[node.end_lineno - 1] + node.end_col_offset - starts[node.lineno - 1] - node.col_offset
             for node in ast.walk(tree) if isinstance(node, _LITERALS)]
    return max(spans, default=0)


def read_swap_set(folder: Path, labels_csv: Path, n_classes: int, name: str = "verification set") -> SwapSet:
    """Read an instructor-only test folder (``test.csv``) and its ``id,label`` file; one-line errors."""
    hint = f"run `autograder data quickdraw prepare competition` (it writes the {name})"
    try:
        with open(folder / "test.csv", newline="", encoding="utf-8") as handle:
            shown = [row["id"] for row in csv.DictReader(handle)]
        with open(labels_csv, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        labels = {row["id"]: int(row["label"]) for row in rows}
    except FileNotFoundError as exc:
        raise UserError(f"no {name}: {exc.filename} is missing; {hint}") from None
    except (KeyError, ValueError, TypeError):
        raise UserError(f"{labels_csv} or {folder / 'test.csv'} is not a {name}; {hint}") from None
    if sorted(shown) != sorted(labels) or not labels:
        raise UserError(f"{folder / 'test.csv'} and {labels_csv} list different ids; {hint}")
    values = np.array(list(labels.values()))
    if values.min() < 0 or values.max() >= n_classes:
        raise UserError(f"{labels_csv} has labels outside 0-{n_classes - 1}")
    return SwapSet(folder, TestIds(tuple(labels)), values.astype(np.uint8), name)


def noise_margin(board: float, n_board: int, swap: float, n_swap: int, confidence: float) -> float:
    """z * sqrt(p (1 - p) (1/n_board + 1/n_swap)) with p pooled: how far below the board score an
    honest entry's verification score falls with probability ``1 - confidence`` (one-sided)."""
    pooled = (board * n_board + swap * n_swap) / (n_board + n_swap)
    z = NormalDist().inv_cdf(confidence)
    return z * math.sqrt(pooled * (1 - pooled) * (1 / n_board + 1 / n_swap))


@dataclass(frozen=True)
class Outcome:
    """The result of checking one board entry."""

    rank: int | None  # None: unranked (a private re-run that gave no score)
    student: str
    submission_id: int
    status: str  # verified | not_reproducible
    submitted_accuracy: float  # on the public half of the test set
    rerun_accuracy: float | None  # on the re-run's set
    detail: str

    def as_json(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Check:
    """How to check: the data given to notebooks and the noise margin's parameters."""

    runner: NotebookRunner
    competition_dir: Path
    swap: SwapSet
    confidence: float = DEFAULT_CONFIDENCE
    tolerance: float = 0.0  # the smallest margin ever used
    max_code_bytes: int = DEFAULT_MAX_CODE_BYTES


def board_accuracy(lb: Leaderboard, submission_id: int) -> tuple[float, int]:
    """A submission's true accuracy on the public half and that half's size."""
    key = lb.answer_key()
    stored, _, _ = lb.submission_for_verify(submission_id)
    return key.score(np.frombuffer(stored, dtype=np.uint8)), len(key.test_ids.ids)


def check_submission(lb: Leaderboard, submission_id: int, check: Check) -> tuple[str, str, float, float | None]:
    """Re-run one submission on ``check.swap``; return (status, detail, public accuracy, the re-run's accuracy)."""
    key = lb.answer_key()
    _, notebook, _ = lb.submission_for_verify(submission_id)
    board, n_board = board_accuracy(lb, submission_id)
    if notebook is None:
        return "not_reproducible", "no notebook was attached to this submission", board, None
    try:
        code = code_of(notebook)
        if code.size > check.max_code_bytes:
            return ("not_reproducible", f"not run: its {code.describe()}, over the {check.max_code_bytes / 1024:.0f} "
                    "KiB verification allows (data or weights carried in code are outside the rules)", board, None)
        output = check.runner(code.notebook, check.competition_dir, check.swap.folder)
    except RunFailed as exc:
        return "not_reproducible", f"the notebook did not run: {exc}", board, None
    try:
        predictions = parse_predictions(output, check.swap.ids, key.n_classes, lb.settings().max_bytes)
    except InvalidSubmission as exc:
        return ("not_reproducible", f"the run on the {check.swap.name} wrote an invalid predictions.csv: {exc}",
                board, None)
    swap = check.swap.accuracy(predictions)
    margin = max(check.tolerance, noise_margin(board, n_board, swap, len(check.swap.labels), check.confidence))
    detail = (f"{check.swap.name.replace(' ', '-')} accuracy {swap:.4f} vs {board:.4f} on the public half "
              f"(accepted down to {board - margin:.4f}: margin {margin:.4f} at {check.confidence:.1%} confidence, "
              f"n = {n_board} and {len(check.swap.labels)}); {code.describe()}")
    return ("verified" if swap >= board - margin else "not_reproducible"), detail, board, swap


def verify_top(
    lb: Leaderboard,
    top: int,
    runner: NotebookRunner,
    competition_dir: Path,
    swap: SwapSet,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    tolerance: float | None = None,
    force: bool = False,
    progress: bool = True,
    max_code_bytes: int = DEFAULT_MAX_CODE_BYTES,
) -> list[Outcome]:
    """Check public board entries from the top until ``top`` are verified; return every outcome.

    An entry's public accuracy is what its verification score is compared with. ``tolerance``
    (default: the competition's) is the smallest margin. Entries decided by an earlier run keep
    their status without a re-run unless ``force``. A notebook whose code cells exceed
    ``max_code_bytes`` is not run (see the module's docstring).
    """
    tolerance = lb.settings().tolerance if tolerance is None else tolerance
    check = Check(runner, competition_dir, swap, confidence, tolerance, max_code_bytes)
    outcomes: list[Outcome] = []
    verified = 0
    rows = lb.board()
    with tqdm(total=min(top, len(rows)), desc="verifying", unit="entry", disable=not progress) as bar:
        for row in rows:
            if verified >= top:
                break
            if row.verify_status != "unverified" and not force:  # decided by an earlier run
                submitted, _ = board_accuracy(lb, row.submission_id)
                status, detail, again = row.verify_status, f"{row.verify_status.replace('_', ' ')} earlier", None
            else:
                status, detail, submitted, again = check_submission(lb, row.submission_id, check)
                lb.record_verification(row.submission_id, status, detail, again)
            outcomes.append(Outcome(row.rank, row.student, row.submission_id, status, submitted, again, detail))
            if status == "verified":
                verified += 1
                bar.update(1)
    return outcomes


def sandbox_runner(timeout: float) -> NotebookRunner:
    """The runner backed by the grading sandbox (:func:`autograder.proxy.run.run_notebook`): the
    notebook runs once in a fresh sandbox (no network, the course's Python environment) with the
    competition folder read-only at ``competition/`` (``$QUICKDRAW_COMPETITION``) and the test
    folder at ``competition-test/`` (``$QUICKDRAW_COMPETITION_TEST``); its ``predictions.csv``
    is read back."""
    require_sandbox()  # a clear error when this machine cannot sandbox
    limits = Limits().with_(notebook_timeout=timeout, cell_timeout=timeout, cpu_seconds=int(timeout) + 60)

    def run(notebook: bytes, competition_dir: Path, test_dir: Path) -> bytes:
        with tempfile.TemporaryDirectory(prefix="leaderboard-verify-") as folder:
            path = Path(folder) / "submission.ipynb"
            path.write_bytes(notebook)
            result = run_notebook(
                path, files={"competition": competition_dir, "competition-test": test_dir},
                env={"QUICKDRAW_COMPETITION": "{home}/competition",
                     "QUICKDRAW_COMPETITION_TEST": "{home}/competition-test"},
                collect=["predictions.csv"], limits=limits)
        if "predictions.csv" not in result.files:
            raise RunFailed(f"no predictions.csv after the run ({why_failed(result)})")
        return result.files["predictions.csv"]

    return run


def why_failed(result) -> str:
    """The run's status and its first error; a missing package is named as such."""
    errors = [output for cell in getattr(result.notebook, "cells", []) if cell.get("cell_type") == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    missing = [e for e in errors if e.get("ename") in ("ModuleNotFoundError", "ImportError")]
    if missing:
        return (f"{missing[0].get('ename')}: {str(missing[0].get('evalue'))[:200]} - only the course environment's "
                "packages (environment.yml) are available to verification, without network")
    if errors:
        return f"{result.status}: {errors[0].get('ename')}: {str(errors[0].get('evalue'))[:200]}"
    if result.error:
        return f"{result.status}: {result.error}"
    return "it ran to the end without errors but wrote none" if result.status == "ok" else result.status
