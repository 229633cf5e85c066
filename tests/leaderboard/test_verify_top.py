"""Verification on the database, the notebook runner injected: walking down the board until the top
k reproduce, only code within the cap reaching the runner, the noise margin never below the tolerance.

Tests taking ``db_url`` run on SQLite and on a real PostgreSQL server (tests/leaderboard/conftest.py).
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest

from autograder.leaderboard import validate
from autograder.leaderboard.verify import RunFailed, SwapSet, noise_margin, verify_top
from tests.leaderboard.boards import Clock, csv_bytes, make_board, rows_csv, synthetic_key, with_accuracy

KEY = synthetic_key(n=400)
SWAP_KEY = synthetic_key(n=400, seed=1)  # the verification set: other ids, other labels


class FakeRunner:
    """Plays the sandbox: returns the bytes a notebook 'writes', per the code it is given."""

    def __init__(self, outputs: dict[str, bytes | Exception]):
        self.outputs = outputs
        self.calls: list[dict] = []

    def __call__(self, notebook: bytes, competition_dir, test_dir):
        given = nbformat.reads(notebook.decode(), as_version=4)
        self.calls.append(given)
        outcome = self.outputs["".join(cell.source for cell in given.cells)]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def notebook(code: str) -> bytes:
    """A notebook whose code is ``code``, with a markdown cell, an attachment and an output beside it."""
    cells = [nbformat.v4.new_markdown_cell("my entry", attachments={"a.csv": {"text/csv": "aWQsbGFiZWwK"}}),
             nbformat.v4.new_code_cell(code, outputs=[nbformat.v4.new_output("stream", text="trained\n")])]
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells)).encode()


def swap_predictions(accuracy: float, seed: int) -> bytes:
    """A predictions.csv for the verification set with exactly ``accuracy``."""
    rng = np.random.default_rng(seed)
    predictions = SWAP_KEY.labels.copy()
    wrong = rng.choice(len(predictions), size=round(len(predictions) * (1 - accuracy)), replace=False)
    predictions[wrong] = (predictions[wrong] + 1) % SWAP_KEY.n_classes
    return rows_csv(SWAP_KEY.ids, predictions)


def swap_set(tmp_path) -> SwapSet:
    return SwapSet(tmp_path, validate.TestIds(SWAP_KEY.ids), SWAP_KEY.labels)


def test_verify_walks_down_until_top_k_reproduce(db_url, tmp_path):
    students = ("ann", "ben", "cid", "dee", "eve", "fay")
    lb, tokens, _ = make_board(db_url, KEY, students=students, clock=Clock())
    predictions = {name: with_accuracy(KEY, 0.9 - 0.05 * i, seed=i) for i, name in enumerate(students)}
    # public 0.80 on n=200 vs 0.74 on the verification set's n=400: the 99.9% margin is 0.114
    assert noise_margin(0.80, 200, 0.74, 400, 0.999) == pytest.approx(0.1143, abs=1e-4)
    outputs = {
        "ann": RunFailed("cell 3 raised FileNotFoundError"),
        "ben": swap_predictions(0.6, seed=9),  # public 0.85: far better than on new drawings
        "cid": swap_predictions(0.74, seed=2),  # public 0.80: within the noise margin
        "eve": swap_predictions(0.72, seed=4),  # public 0.70: better on new drawings is fine
        "fay": csv_bytes(KEY, predictions["fay"]),  # predictions for the released ids
    }
    for name in students:
        attached = notebook(name) if name != "dee" else None
        lb.submit(lb.authenticate(tokens[name]), csv_bytes(KEY, predictions[name]), notebook=attached,
                  notebook_name=f"{name}.ipynb" if attached else None)
    runner = FakeRunner(outputs)
    outcomes = verify_top(lb, 2, runner, tmp_path, swap_set(tmp_path), tolerance=0.01,
                          progress=False)
    assert [(o.student, o.status) for o in outcomes] == [
        ("ann", "not_reproducible"), ("ben", "not_reproducible"), ("cid", "verified"),
        ("dee", "not_reproducible"), ("eve", "verified")]
    assert "cell 3 raised" in outcomes[0].detail and "no notebook" in outcomes[3].detail
    assert outcomes[1].rerun_accuracy == pytest.approx(0.6) and outcomes[2].rerun_accuracy == pytest.approx(0.74)
    assert outcomes[2].submitted_accuracy == pytest.approx(0.80) and "margin 0.1143" in outcomes[2].detail
    assert {row.student: row.verify_status for row in lb.board()} == {
        "ann": "not_reproducible", "ben": "not_reproducible", "cid": "verified", "dee": "not_reproducible",
        "eve": "verified", "fay": "unverified"}
    # a second run keeps earlier decisions without re-running; --force re-runs
    again = verify_top(lb, 1, runner, tmp_path, swap_set(tmp_path), progress=False)
    assert [(o.student, o.detail) for o in again] == [
        ("ann", "not reproducible earlier"), ("ben", "not reproducible earlier"), ("cid", "verified earlier")]
    assert len(runner.calls) == 4
    outcomes = verify_top(lb, 6, runner, tmp_path, swap_set(tmp_path), force=True, progress=False)
    assert len(runner.calls) == 9
    assert outcomes[-1].student == "fay" and "invalid predictions.csv" in outcomes[-1].detail


def test_verify_runs_only_code_within_the_cap(db_url, tmp_path):
    lb, tokens, _ = make_board(db_url, KEY, students=("ann", "ben", "cid"), clock=Clock())
    blob = "WEIGHTS = " + repr("x" * 40_000)  # 39 KiB of "weights" in one literal
    small = "x = 1  # trains a model"
    for name, code in (("ann", blob), ("ben", small), ("cid", "%matplotlib inline\n" + small)):
        lb.submit(lb.authenticate(tokens[name]), csv_bytes(KEY, KEY.labels), notebook=notebook(code))
    runner = FakeRunner({small: swap_predictions(1.0, seed=0), "%matplotlib inline\n" + small: swap_predictions(1.0, seed=0)})
    outcomes = verify_top(lb, 2, runner, tmp_path, swap_set(tmp_path), progress=False)
    assert [(o.student, o.status) for o in outcomes] == [("ann", "not_reproducible"), ("ben", "verified"),
                                                           ("cid", "verified")]
    assert "not run: its code 39.1 KiB, largest literal 39.1 KiB, over the 32 KiB" in outcomes[0].detail
    assert outcomes[0].rerun_accuracy is None
    # only the code cells reach the runner: no markdown, attachment, output or metadata
    assert len(runner.calls) == 2 and all(
        [cell.cell_type for cell in call.cells] == ["code"] and call.cells[0].outputs == []
        and "attachments" not in nbformat.writes(call) for call in runner.calls)
    assert "code 0.0 KiB, largest literal 0.0 KiB" in outcomes[1].detail
    # a higher cap runs it
    runner.outputs[blob] = swap_predictions(1.0, seed=0)
    [again] = verify_top(lb, 1, runner, tmp_path, swap_set(tmp_path), force=True, progress=False,
                         max_code_bytes=64 * 1024)
    assert again.status == "verified" and len(runner.calls) == 3


def test_verify_margin_is_never_below_the_tolerance(db_url, tmp_path):
    lb, tokens, _ = make_board(db_url, KEY, clock=Clock())
    lb.submit(lb.authenticate(tokens["alice"]), csv_bytes(KEY, KEY.labels), notebook=notebook("a"))
    runner = FakeRunner({"a": swap_predictions(0.995, seed=0)})
    # a perfect board score has no sampling noise left (p = 1): only the tolerance remains
    [strict] = verify_top(lb, 1, runner, tmp_path, swap_set(tmp_path), tolerance=0.0, force=True, progress=False)
    [lenient] = verify_top(lb, 1, runner, tmp_path, swap_set(tmp_path), tolerance=0.01, force=True, progress=False)
    assert strict.status == "verified" and lenient.status == "verified"  # pooled p < 1 still leaves noise
    runner.outputs["a"] = swap_predictions(0.9, seed=0)
    [far] = verify_top(lb, 1, runner, tmp_path, swap_set(tmp_path), tolerance=0.05, force=True, progress=False)
    assert far.status == "not_reproducible" and far.submitted_accuracy == 1.0
