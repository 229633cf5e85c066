"""`autograder feedback`: one HTML per student with outputs, checks, points and total - and no
hidden source anywhere, even for a student who tries to print it."""

from __future__ import annotations

import base64
import re
import shutil
from types import SimpleNamespace

import nbformat
import pytest

from autograder.classroom.course import Course
from autograder.classroom.feedback import feedback_exporter, feedback_notebook, write_feedback
from autograder.grading.redact import REDACTED, Redactor
from autograder.grading.results import CheckResult
from tests.classroom.report_text import instructor_only_lines, leaks, visible_text
from tests.courses.legacy import ASSIGNMENT, HIDDEN_MARK, RUBRIC_CRITERION


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
        assert RUBRIC_CRITERION not in path.read_text() and "Rubric of" not in path.read_text(), student


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


def _rendered(tmp_path, cells, view, result=None, hidden=frozenset()):
    nb = nbformat.v4.new_notebook(cells=cells)
    nb, _ = feedback_notebook(nb, view, result, Redactor(set(hidden)))
    body, _ = feedback_exporter().from_notebook_node(
        nb, resources={"feedback": {"assignment": "a", "notebook": "a", "student": "s", "total": "1",
                                    "max_total": "2", "summary": [], "pending": False, "status_note": ""}})
    path = tmp_path / "report.html"
    path.write_text(body, encoding="utf-8")
    return body, path


def test_report_renders_tables_figures_and_highlighted_code_like_the_notebook(tmp_path):
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(32)).decode()
    answer = nbformat.v4.new_code_cell("def area(r):\n    return 3.14 * r * r", outputs=[
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={"image/png": "not base64 <script>", "text/plain": "bad"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert(1)"})])
    answer.metadata["nbgrader"] = {"grade_id": "area", "solution": True, "grade": True, "points": 2}
    cells = [nbformat.v4.new_markdown_cell("| r | area |\n|---|---|\n| 1 | 3.14 |\n\n<script>alert(2)</script>"),
             answer]
    view = {"grades": {"area": {"score": 1.0, "max": 2.0, "pending": False}}, "notes": {"area": "use math.pi"}}
    body, path = _rendered(tmp_path, cells, view)
    table = re.search(r"<table>.*?</table>", body, re.S)
    assert table and "<th>r</th>" in table.group(0) and "<td>3.14</td>" in table.group(0)
    assert "| r | area |" not in visible_text(path)  # no raw pipes
    assert f'src="data:image/png;base64,{png}"' in body  # the figure
    assert "not base64" not in body and "alert(1)" not in body and "<script>alert(2)" not in body
    assert '<span class="k">def</span>' in body and '<span class="nf">area</span>' in body  # pygments
    text = visible_text(path)
    assert "area: 1 / 2 points" in text and "use math.pi" in text


def test_report_shortens_test_cell_errors_and_redacts_hidden_lines(tmp_path):
    test = nbformat.v4.new_code_cell("assert area(1) == 3.14", outputs=[nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="area wrong",
        traceback=["Traceback", "    secret_reference_line = 42", "AssertionError: area wrong"])])
    test.metadata["nbgrader"] = {"grade_id": "test_area", "grade": True, "points": 2}
    view = {"grades": {"test_area": {"score": 0.0, "max": 2.0, "pending": False}}, "notes": {}}
    result = SimpleNamespace(checks=[CheckResult(name="check_area", cell="test_area", points=0.0, max_points=2.0,
                                                 outcome="failed", message="secret_reference_line = 42\nexpected 3.14")])
    body, path = _rendered(tmp_path, [test], view, result, hidden={"secret_reference_line = 42"})
    text = visible_text(path)
    assert "AssertionError: area wrong" in text and "check_area" in text and "expected 3.14" in text
    assert "secret_reference_line" not in body and REDACTED in text
