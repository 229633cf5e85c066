"""Drop-in nbgrader courses give the scores nbgrader's own autograde tests expect.

Each course below is set up like a case of ``nbgrader/tests/apps/test_nbgrader_autograde.py``
(the same source and submitted notebooks from its ``files/``, its due date and timestamps) and
graded through ``grade_class`` with two workers, with zygote kernels and with plain sandboxes.
Where our grade differs from nbgrader's, the test says why.
"""

from __future__ import annotations

import pytest
from nbgrader.api import Gradebook

from tests.grading.dropin_courses import (
    ASSIGNMENT,
    autograded_text,
    grade,
    make_course,
    notebook_scores,
    released,
    submit,
)

ON_TIME = "2015-02-02 14:58:23.948203 America/Los_Angeles"
HOUR_LATE = "2015-02-02 15:58:23.948203 America/Los_Angeles"


@pytest.fixture(scope="module")
def plain_course(tmp_path_factory, mode):
    """test_grade + test_showtraceback_exploit + test_skip_extra_notebooks + late timestamps."""
    root = make_course(tmp_path_factory.mktemp("plain"), {"p1": "submitted-unchanged.ipynb"})
    submit(root, "foo", "p1", "submitted-unchanged.ipynb", timestamp=ON_TIME)
    submit(root, "foo", "p1", "submitted-changed.ipynb", filename="p1 copy.ipynb")
    submit(root, "bar", "p1", "submitted-changed.ipynb", timestamp=HOUR_LATE)
    submit(root, "spam", "p1", "submitted-cheat-attempt.ipynb")
    submit(root, "eggs", "p1", "submitted-cheat-attempt-alternative.ipynb")
    return root, grade(root, mode)


def test_unchanged_changed_and_both_showtraceback_cheats(plain_course):
    root, report = plain_course
    assert notebook_scores(root) == {("foo", "p1"): 1, ("bar", "p1"): 2, ("spam", "p1"): 1, ("eggs", "p1"): 1}

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        assert gb.find_submission_notebook("p1", ASSIGNMENT, "foo").max_score == 7
        assert gb.find_submission_notebook("p1", ASSIGNMENT, "foo").needs_manual_grade is False
        assert gb.find_submission_notebook("p1", ASSIGNMENT, "bar").needs_manual_grade is True
        # the late timestamps, as in test_grade_timestamp / test_late_submission_penalty_none
        assert gb.find_submission(ASSIGNMENT, "foo").total_seconds_late == 0
        assert gb.find_submission(ASSIGNMENT, "bar").total_seconds_late > 0
        assert gb.find_submission_notebook("p1", ASSIGNMENT, "bar").late_submission_penalty is None
    by = {r.student: {c.name: c for c in r.checks} for r in report.results}
    assert by["spam"]["bar"].points == 0 and "not defined" in by["spam"]["bar"].message


def test_extra_notebooks_are_skipped_with_a_note(plain_course):
    root, report = plain_course
    assert not (root / "autograded" / "foo" / ASSIGNMENT / "p1 copy.ipynb").exists()
    assert (root / "autograded" / "foo" / ASSIGNMENT / "p1.ipynb").exists()
    assert report.extra == ["foo/p1 copy.ipynb"]
    assert "foo/p1 copy.ipynb: not a notebook of the release" in report.summary()
    assert all(r.status == "graded" for r in report.results) and len(report.results) == 4


AUTOTEST_SOURCES = {"simple": "autotest-simple.ipynb", "hashed": "autotest-hashed.ipynb",
                    "multi": "autotest-multi.ipynb", "hidden": "autotest-hidden.ipynb"}


@pytest.fixture(scope="module")
def autotest_course(tmp_path_factory, mode):
    """test_grade_autotest, test_grade_hashed_autotest, test_grade_complex_autotest and
    test_hidden_tests_autotest, as the four notebooks of one assignment."""
    root = make_course(tmp_path_factory.mktemp("autotest"), AUTOTEST_SOURCES, autotests=True,
                       config='c.ClearSolutions.code_stub = dict(python="# YOUR CODE HERE")')
    for name in ("simple", "hashed", "multi", "hidden"):
        submit(root, "foo", name, f"autotest-{name}-unchanged.ipynb")
    for name in ("simple", "hashed", "multi"):
        submit(root, "bar", name, f"autotest-{name}-changed.ipynb")
    submit(root, "bar", "hidden", "autotest-hidden-changed-wrong.ipynb")
    submit(root, "baz", "hidden", "autotest-hidden-changed-right.ipynb")
    return root, grade(root, mode)


def test_autotests_are_expanded_as_nbgrader_does(autotest_course):
    root, _ = autotest_course
    scores = notebook_scores(root)
    for name in ("simple", "hashed", "multi", "hidden"):
        assert scores[("foo", name)] == 0, name
    assert scores[("bar", "simple")] == 1 and scores[("bar", "hashed")] == 1 and scores[("bar", "multi")] == 3
    # the release holds only the visible type checks: bar's wrong values pass them but not the hidden ones
    assert scores[("bar", "hidden")] == 0
    assert scores[("baz", "hidden")] == 1


def test_hidden_autotests_never_reach_the_student(autotest_course):
    root, report = autotest_course
    assert "BEGIN HIDDEN TESTS" not in released(root, "hidden").cells[2].source
    for student in ("foo", "bar", "baz"):
        text = autograded_text(root, student, "hidden")
        assert 'assert str(a) == "5"' not in text and "value of a is not correct" not in text
    messages = [c.message for r in report.results for c in r.checks if r.notebook == "hidden"]
    assert "a hidden test failed (AssertionError)" in messages  # bar: what failed, not how


@pytest.fixture(scope="module")
def hidden_course(tmp_path_factory, mode):
    """test_hidden_tests_single_notebook and test_grade_with_validating_envvar."""
    root = make_course(tmp_path_factory.mktemp("hidden"), {
        "p1": "test-hidden-tests.ipynb", "p2": "validating-environment-variable.ipynb"},
        config='c.ClearSolutions.code_stub = dict(python="# YOUR CODE HERE")', files=("jupyter.png",))
    submit(root, "foo", "p1", released(root, "p1"))
    submit(root, "foo", "p2", "validating-environment-variable.ipynb")
    return root, grade(root, mode)


def test_hidden_tests_count_though_the_release_lacks_them(hidden_course):
    root, report = hidden_course
    scores = notebook_scores(root)
    # 1 (invalid input raises) + 0.5 (sum_of_squares uses squares: the test deletes the student's
    # global and puts it back); both hidden-test cells fail, as in nbgrader
    assert scores[("foo", "p1")] == 1.5
    # the test cell sees NBGRADER_EXECUTION=autograde, as nbgrader's kernel does
    assert scores[("foo", "p2")] == 0
    text = autograded_text(root, "foo", "p1")
    # the hidden assertions themselves (a bare "506" could match a random cell id)
    assert "squares(11) ==" not in text and "== 506" not in text
