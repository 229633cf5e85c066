"""The classroom layer on a real assignment graded by the trusted-checks engine: a simulated
class of `activations` (reference-correct, partly answered, blank, hostile) graded in parallel,
its verdicts recorded unchanged in nbgrader's gradebook, and feedback free of hidden source."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.classroom.course import Course
from autograder.classroom.feedback import write_feedback
from autograder.classroom.grade_class import grade_class
from autograder.classroom.rubrics import MARK, is_rubric_cell, read_rubrics
from autograder.classroom.simulate import simulated_class, write_class
from autograder.sandbox.probe import missing_protections
from tests.classroom.report_text import REPO, instructor_only_lines, leaks, visible_text

ASSIGNMENT = "activations"
pytestmark = pytest.mark.skipif(bool(missing_protections()), reason="needs the sandbox (bubblewrap)")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("engine") / "course"
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root)
    for folder in ("solutions", "assignments"):
        shutil.copytree(REPO / folder / ASSIGNMENT, root / folder / ASSIGNMENT)
    write_class(root, ASSIGNMENT, simulated_class(root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                                                  root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    course = Course(root)
    report = grade_class(ASSIGNMENT, course.find_submissions(ASSIGNMENT), workers=2, seed=7, progress=False,
                         course=course)
    reports = {p.parent.parent.name: p for p in write_feedback(course, ASSIGNMENT)}
    return course, {r.student: r for r in report.results}, reports


def test_verdicts_of_the_trusted_checks_land_unchanged_in_the_gradebook(graded):

    course, results, _ = graded
    assert all(r.status == "graded" for r in results.values())
    top = results["correct"].max_score
    assert results["correct"].score == top > 0 and results["blank"].score == 0
    assert 0 < results["partly"].score < top
    assert results["hostile"].score == results["partly"].score  # tampering and snooping bought nothing
    with Gradebook(course.db_url) as gb:
        for student, result in results.items():
            nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            auto = {g.name: g.auto_score for g in nb.grades if g.cell.cell_type == "code" and g.auto_score is not None}
            per_cell: dict[str, float] = {}
            for check in result.checks:
                per_cell[check.cell] = per_cell.get(check.cell, 0.0) + check.points
            assert {k: pytest.approx(v) for k, v in per_cell.items()} == {k: auto[k] for k in per_cell}, student
            assert nb.max_score == gb.find_notebook(ASSIGNMENT, ASSIGNMENT).max_score  # points metadata ignored


def test_feedback_on_real_checks_has_their_outcomes_and_no_hidden_source(graded):
    course, results, reports = graded
    assert set(reports) == set(results)
    secret = instructor_only_lines(course.root)
    assert len(secret) > 50  # every hidden check file of the repo is searched
    released = course.root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    for student, path in reports.items():
        submitted = course.root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert not leaks(path, secret, released, submitted), student
    partly = visible_text(reports["partly"])
    failed = [c for c in results["partly"].checks if c.outcome != "passed"]
    assert failed and all(c.name in partly for c in failed)
    assert f"Total {results['partly'].score:g} / " in partly
    hostile = visible_text(reports["hostile"])
    # what snooping saw (/etc is readable in the sandbox, and holds no shadow file)
    assert "gradebooks visible: []" in hostile and "/etc/shadow -> FileNotFoundError" in hostile
    assert Path(reports["hostile"]).stat().st_size < 5_000_000


def test_worker_zygotes_leave_nothing_behind(graded):

    leftovers = []
    for folder in Path(tempfile.gettempdir()).glob("autograder-zygote-*"):
        owner = folder / "owner.pid"
        if owner.is_file() and not Path(f"/proc/{owner.read_text().strip()}").exists():
            leftovers.append(folder)
    assert not leftovers  # the pool's workers closed their zygotes when they ended


def test_graders_see_the_solutions_rubrics_and_students_do_not(graded):
    course, results, reports = graded
    rubrics = read_rubrics(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert "answer_dead_relu" in rubrics and all(r.criteria for r in rubrics.values())
    for student in results:
        path = course.folder("autograded_directory", student, ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
        cells = nbformat.read(path, as_version=4).cells
        shown = {cell.metadata[MARK]: cell.source for cell in cells if is_rubric_cell(cell)}
        assert set(shown) == set(rubrics), student
        for grade_id, rubric in rubrics.items():
            before = cells[next(i for i, c in enumerate(cells) if is_rubric_cell(c) and c.metadata[MARK] == grade_id) - 1]
            assert before.metadata["nbgrader"]["grade_id"] == grade_id  # right under the answer it grades
            for criterion, points in rubric.criteria.items():
                assert f"| {criterion} | {points:g} |" in shown[grade_id], (student, criterion)
        report = visible_text(reports[student])
        assert not [c for r in rubrics.values() for c in r.criteria if c in report], student
