"""The glue `autograder grade` uses: batch options, nbgrader-style assignments accepted, the
course's submissions recorded (and skipped on a rerun), notebooks from elsewhere only graded."""

from __future__ import annotations

import argparse
import shutil

import pytest

from autograder.classroom.gradebook import ResultStore
from autograder.commands.grade import add_batch_options, check_gradable, grade_from_cli
from autograder.errors import UserError
from autograder.grading.submissions import find_submissions
from tests.courses.legacy import ANSWERS_CORRECT, ASSIGNMENT, REPO, answered, db_url, make_course, release, submit


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_batch_options(parser)
    return parser.parse_args(list(argv))


def test_grade_cli_glue_records_the_class_and_only_grades_strays(tmp_path, capsys):
    root = make_course(tmp_path)
    released = release(root)
    submit(root, "ann", answered(released, ANSWERS_CORRECT))
    stray = tmp_path / "elsewhere" / "bea.ipynb"
    stray.parent.mkdir()
    shutil.copy(released, stray)
    check_gradable(ASSIGNMENT, root)
    run = grade_from_cli(_args("--workers", "2"), ASSIGNMENT, find_submissions(ASSIGNMENT, [], root), 3, root)
    doc = run.to_json()
    assert doc["seed"] == 3 and [(s["student"], s["score"], s["max_score"]) for s in doc["submissions"]] == [("ann", 7, 7)]
    assert {c["cell"] for c in doc["submissions"][0]["checks"]} == {"test_add", "test_mean", "test_partial"}
    store = ResultStore(db_url(root))
    assert set(store.graded(ASSIGNMENT)) == {("ann", ASSIGNMENT)}
    capsys.readouterr()
    again = grade_from_cli(_args(), ASSIGNMENT, find_submissions(ASSIGNMENT, [], root), 3, root)
    assert "1 already graded" in capsys.readouterr().err and again.submissions[0].score == 7
    loose = grade_from_cli(_args(), ASSIGNMENT, find_submissions(ASSIGNMENT, [stray], root), 3, root)
    assert [(s.student, s.score) for s in loose.submissions] == [("bea", 0)]
    assert "not recorded in the gradebook" in capsys.readouterr().err
    assert set(store.graded(ASSIGNMENT)) == {("ann", ASSIGNMENT)}
    store.dispose()
    with pytest.raises(UserError, match="--workers must be at least 1"):
        grade_from_cli(_args("--workers", "0"), ASSIGNMENT, [], 1, root)


def test_gradable_assignments(tmp_path):
    root = make_course(tmp_path)
    with pytest.raises(UserError, match="not released"):
        check_gradable(ASSIGNMENT, root)
    with pytest.raises(UserError, match="unknown assignment 'nope'.*xor"):
        check_gradable("nope", root)
    with pytest.raises(UserError, match="'xor' is not released"):  # hidden checks, but not released here
        check_gradable("xor", root)


def test_a_folder_without_nbgrader_config_is_graded_not_recorded(tmp_path, capsys):
    root = tmp_path / "course"
    root.mkdir()
    for name in ("solutions", "assignments"):
        (root / name).symlink_to(REPO / name)
    notebook = tmp_path / "zed.ipynb"
    shutil.copy(REPO / "assignments" / "xor" / "xor.ipynb", notebook)
    check_gradable("xor", root)
    run = grade_from_cli(_args("--workers", "1"), "xor", find_submissions("xor", [notebook], root), 5, root)
    assert [(s.student, s.status, s.score, s.max_score) for s in run.submissions] == [("zed", "graded", 0, 12)]
    assert len(run.submissions[0].checks) > 5
    assert not (root / "gradebook.db").exists() and not (root / "autograded").exists()
    assert "not recorded in the gradebook" in capsys.readouterr().err
