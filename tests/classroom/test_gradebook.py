"""nbgrader stays the system of record: our verdicts land in its gradebook, its own tools read
them, an nbgrader-style assignment grades to stock nbgrader's scores, and the gradebook keeps
no hidden test in clear and is private."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI

from autograder.classroom.course import Course
from autograder.classroom.gradebook import ResultStore
from autograder.grading.redact import hidden_blocks
from tests.courses.legacy import (
    ASSIGNMENT,
    HIDDEN_MARK,
    REPO,
    RUBRIC_CRITERION,
    TEST_ADD,
    answered,
    auto_scores,
    db_url,
    grade,
    submit,
)


def _nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(root), "PYTHONPATH": str(REPO)}  # nbgrader_config.py imports this checkout
    return subprocess.run([str(bin_dir / "nbgrader"), *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)


def test_same_scores_as_stock_nbgrader_autograde(graded_class):
    ours, stock = auto_scores(graded_class.root), auto_scores(graded_class.stock)
    assert set(ours) == set(graded_class.expected) == set(stock)
    assert ours == stock  # every cell of every student, manual answers (None) included
    for student, expected in graded_class.expected.items():
        assert sum(v or 0 for k, v in ours[student].items() if k.startswith("test_")) == expected, student
    by_student = {r.student: r for r in graded_class.report.results}
    assert {s: r.score for s, r in by_student.items()} == graded_class.expected
    assert all(r.status == "graded" and r.max_score == 7 for r in by_student.values())
    assert graded_class.report.graded == 4 and graded_class.report.skipped == 0


def test_written_answers_wait_for_a_human_beside_the_automatic_grades(graded_class):

    with Gradebook(db_url(graded_class.root)) as gb:
        correct = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "correct")
        why = next(g for g in correct.grades if g.name == "why")
        assert why.auto_score is None and why.needs_manual_grade  # answered: a human grades it
        blank = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "blank")
        assert next(g for g in blank.grades if g.name == "why").auto_score == 0  # unanswered: 0
        assert correct.score == 7 and correct.max_score == 9


def test_gradebook_is_private_and_holds_no_hidden_test(graded_class):
    path = graded_class.root / "gradebook.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    hidden = {line.strip() for line in hidden_blocks(TEST_ADD)}
    assert HIDDEN_MARK in "".join(hidden)
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        dump = "\n".join(str(row) for t in tables for row in db.execute(f"select * from {t}"))
    assert "source_cell" in tables and "assert add(1, 2) == 3" in dump  # the search does find cell text
    assert HIDDEN_MARK not in dump
    assert not [line for line in hidden if line in dump]
    for nb in (graded_class.root / "autograded").rglob("*.ipynb"):
        assert HIDDEN_MARK not in nb.read_text()


def test_nbgrader_tools_read_our_results(graded_class, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(graded_class.root, course)
    done = _nbgrader(course, "generate_feedback", ASSIGNMENT)
    assert done.returncode == 0, done.stderr[-2000:]
    for student in graded_class.expected:
        html = (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        assert HIDDEN_MARK not in html and "Score" in html
        assert RUBRIC_CRITERION not in html and "Rubric of" not in html  # the graders' rubric cell is removed
    correct = (course / "feedback" / "correct" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "Because dividing by zero is undefined." in correct  # the answer the rubric was beside is there
    # formgrader's backend (NbGraderAPI) lists the submissions with our scores

    api = NbGraderAPI(coursedir=Course(course).coursedir)
    listed = {s["student"]: s for s in api.get_submissions(ASSIGNMENT)}
    assert {k: listed[k]["score"] for k in graded_class.expected} == {"correct": 7.0, "partly": 3.0, "blank": 0.0,
                                                                "leaker": 4.0}
    assert listed["correct"]["needs_manual_grade"] and listed["correct"]["autograded"]


def test_tampered_test_cells_and_points_cannot_buy_points(graded_class, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(graded_class.root, course)
    released = course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    noisy_mean = "import sys\n\ndef mean(xs):\n    print('warning: noisy', file=sys.stderr)\n    return sum(xs) / len(xs)\n"
    nb = answered(released, {"add": "def add(a, b):\n    return 0\n", "mean": noisy_mean})
    for cell in nb.cells:
        info = cell.metadata.get("nbgrader", {})
        if info.get("grade_id") == "test_add":  # gutted test, 100 points, a fake partial-credit output
            cell.source = "pass"
            info["points"] = 100
            cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "100"})]
    submit(course, "tamper", nb)
    report = grade(course, workers=1, seed=1)
    assert report.graded == 1 and report.skipped == 4
    scores = auto_scores(course)["tamper"]
    assert scores["test_add"] == 0
    assert scores["test_mean"] == 3  # stderr from a correct answer costs nothing (stock nbgrader: 0)

    with Gradebook(db_url(course)) as gb:
        assert gb.find_submission(ASSIGNMENT, "tamper").max_score == 9
    graded_nb = nbformat.read(course / "autograded" / "tamper" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    test_add = next(c for c in graded_nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_add")
    assert test_add.source.startswith("assert add(1, 2) == 3") and test_add.metadata.nbgrader.points == 2


def test_manual_grades_survive_a_forced_regrade(graded_class, tmp_path):

    course = tmp_path / "course"
    shutil.copytree(graded_class.root, course)
    with Gradebook(db_url(course)) as gb:
        grade_row = gb.find_grade("why", ASSIGNMENT, ASSIGNMENT, "correct")
        grade_row.manual_score = 1.5
        gb.db.commit()
    report = grade(course, force=True, seed=1234)
    assert report.graded == 4 and report.skipped == 0
    with Gradebook(db_url(course)) as gb:
        sub = gb.find_submission(ASSIGNMENT, "correct")
        assert sub.score == 8.5 and gb.find_grade("why", ASSIGNMENT, ASSIGNMENT, "correct").manual_score == 1.5
        assert len(gb.assignment_submissions(ASSIGNMENT)) == 4
    store = ResultStore(db_url(course))
    assert {k[0] for k in store.graded(ASSIGNMENT)} == set(graded_class.expected)
    store.dispose()
