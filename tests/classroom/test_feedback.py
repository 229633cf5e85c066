"""`autograder feedback`: one HTML per student with outputs, checks, points and total - and no
hidden source anywhere, even for a student who tries to print it."""

from __future__ import annotations

import shutil

import pytest

from autograder.classroom.course import Course
from autograder.classroom.feedback import write_feedback
from autograder.grading.redact import REDACTED
from tests.classroom.report_text import instructor_only_lines, leaks, visible_text
from tests.courses.legacy import ASSIGNMENT, HIDDEN_MARK


@pytest.fixture(scope="module")
def reports(graded_class, tmp_path_factory):
    out = tmp_path_factory.mktemp("feedback")
    paths = write_feedback(Course(graded_class.root), ASSIGNMENT, out=out)
    return graded_class, {p.parent.parent.name: p for p in paths}


def test_one_report_per_student_with_checks_points_and_total(reports):
    graded, paths = reports
    assert set(paths) == set(graded.expected)
    partly = visible_text(paths["partly"])
    assert "Total 3 / 9" in partly
    assert "test_mean: 0 / 3 points" in partly and "test_partial: 1 / 2 points" in partly
    assert "partial credit: 1 of 2" in partly and "failed" in partly
    assert "why: 0 / 2 points" in partly and "No response." in partly
    correct = visible_text(paths["correct"])
    assert "Total 7 / 9" in correct and "to be graded" in correct
    assert "test_add: 2 / 2 points" in correct and "passed" in correct
    blank = visible_text(paths["blank"])
    assert "NotImplementedError" in blank and "Total 0 / 9" in blank
    leaker = visible_text(paths["leaker"])
    assert "ValueError: one element" in leaker  # the student's own error is shown...
    assert REDACTED not in leaker  # ...and the kernel's history had nothing to cut: no test ran there


def test_no_hidden_source_in_any_report(reports):
    graded, paths = reports
    secret = instructor_only_lines(graded.root)
    assert any(HIDDEN_MARK in line for line in secret)
    released = graded.root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    for student, path in paths.items():
        assert "assert add(1, 2) == 3, 'add(1, 2) should be 3'" in visible_text(path)  # visible tests are there
        assert not leaks(path, secret, released, graded.submissions[student]), student
        assert HIDDEN_MARK not in path.read_text()


def test_feedback_cli_writes_into_nbgrader_feedback_folder(reports, run_cli, tmp_path):

    graded, _ = reports
    course = tmp_path / "course"
    shutil.copytree(graded.root, course)
    done = run_cli("feedback", ASSIGNMENT, "--student", "partly", env={"COURSE_ROOT": str(course)})
    assert done.returncode == 0, done.stderr
    assert "wrote 1 feedback report" in done.stdout
    assert (course / "feedback" / "partly" / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()
    missing = run_cli("feedback", ASSIGNMENT, "--student", "nobody", env={"COURSE_ROOT": str(course)})
    assert missing.returncode != 0 and missing.stderr.startswith("error: ")
    unknown = run_cli("feedback", "nope", env={"COURSE_ROOT": str(course)})
    assert unknown.returncode != 0 and "error: " in unknown.stderr and "Traceback" not in unknown.stderr
