"""The four graded assignments through the whole engine (sandbox, proxy, hidden checks):
every reference solution gets full marks, every released blank notebook zero (without a crash),
deliberately wrong submissions exactly their expected partial scores, and a regrade with the
recorded seed reproduces every check. One batch per assignment, on the real QuickDraw data."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder import paths
from autograder.grading.assignments import discover
from autograder.grading.grader import grade_submission

ROOT = paths.course_root()
SEED = 424242
ASSIGNMENTS = {spec.name: spec for spec in discover()}

# assignment -> {solution cell grade_id: (text to replace, replacement)}, and the score it must get.
WRONG = {
    "xor": ({
        "make_xor_data": ("X = centres + rng.normal(0.0, noise, size=centres.shape)", "X = centres + 0.0 * noise"),
        "accuracy": ("(logits.argmax(dim=1) == y)", "(logits.argmax(dim=1) != y)"),
    }, 10.0),
    "activations": ({
        "act_relu": ("return (z > 0).to(z.dtype)", "return (z >= 0).to(z.dtype)"),
    }, 12.6),
    "mlp_scratch": ({  # db1, train_step, and params_mse (trained with the wrong gradient) are lost
        "mlp_backward": ('"db1": delta1.sum(axis=0),', '"db1": 2 * delta1.sum(axis=0),'),
    }, 16.0),
    "quickdraw_loader": ({
        "quickdraw_model": ("    return correct / count\n", "    return 100.0 * correct / count\n"),
        "inmemory_dataset": ("int(self.labels[index])", "self.labels[index]"),
    }, 15.0),
}


def wrong_notebook(assignment: str, folder: Path) -> Path:
    """The solution notebook with the edits of ``WRONG`` applied to its solution cells."""
    nb = nbformat.read(ASSIGNMENTS[assignment].solution_notebook(ROOT), as_version=4)
    edits = dict(WRONG[assignment][0])
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in edits:
            old, new = edits.pop(grade_id)
            assert old in cell.source, f"{assignment}/{grade_id}: the solution changed, update WRONG"
            cell.source = cell.source.replace(old, new)
    assert not edits, f"cells not found: {edits}"
    path = folder / "wrong.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def graded(quickdraw_root, tmp_path_factory):
    """Every assignment's solution, blank release and wrong submission, graded with one seed."""
    runs = {}
    for assignment, spec in ASSIGNMENTS.items():
        folder = tmp_path_factory.mktemp(assignment)
        notebooks = {"solution": spec.solution_notebook(ROOT), "blank": spec.release_notebook(ROOT),
                     "wrong": wrong_notebook(assignment, folder)}
        runs[assignment] = {student: grade_submission(assignment, path.read_bytes(), student, str(path), SEED,
                                                      course_root=ROOT, data_root=quickdraw_root).result
                            for student, path in notebooks.items()}
    return runs


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_reference_solution_gets_full_marks(graded, assignment):
    result = graded[assignment]["solution"]
    assert result.status == "graded"
    failed = [(c.name, c.outcome, c.message) for c in result.checks if c.outcome != "passed"]
    assert not failed and result.score == result.max_score > 0, failed


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_blank_release_gets_zero(graded, assignment):
    result = graded[assignment]["blank"]
    assert result.status == "graded" and result.error is None
    assert result.score == 0 and result.max_score == graded[assignment]["solution"].max_score
    assert all(c.outcome in ("error", "failed") and c.message for c in result.checks)


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_wrong_submission_gets_its_partial_score(graded, assignment):
    result = graded[assignment]["wrong"]
    assert result.status == "graded"
    assert result.score == pytest.approx(WRONG[assignment][1]), [
        (c.name, c.points, c.message) for c in result.checks if c.outcome != "passed"]
    for check in result.checks:
        if check.outcome != "passed":
            assert any(word in check.message for word in ("expected", "raised", "tolerance", "must")), check.message


def test_regrade_with_the_recorded_seed_reproduces_every_check(graded, quickdraw_root, tmp_path):
    first = graded["activations"]["wrong"]
    again = grade_submission("activations", wrong_notebook("activations", tmp_path).read_bytes(), "wrong",
                             first.notebook, SEED, course_root=ROOT, data_root=quickdraw_root).result
    assert [(c.name, c.points, c.outcome, c.message) for c in again.checks] == \
        [(c.name, c.points, c.outcome, c.message) for c in first.checks]
