"""The four graded assignments through the whole engine (sandbox, proxy, hidden checks):
every reference solution gets full marks, every released blank notebook zero (without a crash),
deliberately wrong submissions exactly their expected partial scores, and a regrade with the
recorded seed reproduces every check. The cases are in wrong_cases.py; on the real QuickDraw data."""

from __future__ import annotations

import pytest

from autograder.grading.grader import grade_submission
from tests.checks.wrong_cases import ASSIGNMENTS, ROOT, SEED, WRONG, wrong_notebook


@pytest.fixture(scope="module")
def graded(checks_batch):
    """Every assignment's solution, blank release and wrong submission, graded with one seed in
    the folder's batch (tests/checks/conftest.py: plain sandboxes, 2 workers)."""
    return checks_batch["assignments"]


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
