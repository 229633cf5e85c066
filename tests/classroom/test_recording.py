"""A submission is always recorded, whatever its structure, and never above what honest work earns.

Through the production path (``grade_class``, several workers, a real nbgrader gradebook): an
nbgrader-style assignment in plain sandboxes, and the xor assignment (hidden checks) with zygote
kernels and with plain sandboxes. Named cases (a copy-pasted test cell, a retyped grade_id, grade
cells added by the student, odd points and schema versions, garbled metadata, deleted and
reordered cells, garbage cells, non-finite scores) and hypothesis-drawn random mutations of the
nbgrader metadata and of the cell list. After grading, ``nbgrader export`` and
``autograder export`` list every student.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat import MetadataValidator

from autograder.classroom.autograded import record_autograded
from autograder.classroom.course import Course
from autograder.classroom.grade_class import grade_class
from autograder.classroom.gradebook import ResultStore, prepare_gradebook
from autograder.classroom.simulate import fill, reference_answers
from autograder.classroom.worker import grade_task, make_payload
from autograder.grading.notebook import read_submission
from autograder.grading.results import SubmissionResult
from autograder.grading.structure import normalized_submission, released_cells
from tests.classroom.recording_cases import CASES, apply_case, autograded_cells, mutate, mutations, surviving_tests
from tests.courses.experiments import without_manual_experiments
from tests.courses.legacy import (
    ANSWERS_CORRECT,
    ANSWERS_PARTLY,
    ASSIGNMENT,
    REPO,
    answered,
    copy_course,
    grade,
    make_course,
    submit,
)

QUICK = {"limits": {"cell_timeout": 10, "notebook_timeout": 60, "startup_timeout": 60}}
# A student kernel that prints every float as "nan" or "inf": nbgrader-style partial credit
# would read the cell's value as that (NaN could not be stored; infinity was clipped to full marks).
FORMATTER = ("get_ipython().display_formatter.formatters['text/plain'].for_type("
             "float, lambda value, printer, cycle: printer.text({!r}))\n")


def _released(root: Path, assignment: str = ASSIGNMENT) -> nbformat.NotebookNode:
    return nbformat.read(root / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)


def recorded(root: Path, assignment: str) -> dict[str, dict]:
    """student -> {"cells": grade cell -> auto score, "score", "max_score"}, from the gradebook."""

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {sub.student.id: {"cells": {g.name: g.auto_score for g in sub.notebooks[0].grades},
                                 "score": sub.score, "max_score": sub.max_score}
                for sub in gb.assignment_submissions(assignment)}


def check_cells(result: SubmissionResult) -> dict[str, float]:
    """test cell -> points, from a batch result."""
    found: dict[str, float] = {}
    for check in result.checks:
        found[check.cell] = found.get(check.cell, 0.0) + check.points
    return found


def assert_exports_list(root: Path, assignment: str, students: set[str]) -> None:
    """``nbgrader export`` and ``autograder export --format csv`` both work and list every student."""
    bin_dir = Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(root), "COURSE_ROOT": str(root),
           "PYTHONPATH": str(REPO)}
    theirs, ours = root / "nbgrader.csv", root / "ours.csv"
    for command in ([str(bin_dir / "nbgrader"), "export", "--to", str(theirs)],
                    [str(bin_dir / "autograder"), "export", "--format", "csv", "--assignment", assignment,
                     "--out", str(ours)]):
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    for path in (theirs, ours):
        with path.open(newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if r["assignment"] == assignment]
        assert {r["student_id"] for r in rows} >= students
        assert all(math.isfinite(float(r["score"])) for r in rows if r["student_id"] in students)


def assert_recorded_as(report, root: Path, assignment: str, honest: dict[str, float], expected_zero: dict) -> None:
    """Every student recorded; each test cell scores what the honest notebook scored, or 0."""
    assert not report.not_recorded, report.not_recorded
    book = recorded(root, assignment)
    by = {r.student: r for r in report.results}
    for student, zeroed in expected_zero.items():
        cells = {k: v for k, v in book[student]["cells"].items() if k in honest}
        want = {k: 0.0 if k in zeroed else v for k, v in honest.items()}
        assert cells == want, (student, cells, want)
        assert by[student].status == "graded", (student, by[student].error)
        assert by[student].score == sum(cells.values()), (student, by[student].checks)  # as recorded
    assert len({book[s]["max_score"] for s in book}) == 1  # nobody changed a maximum


# --- the nbgrader-style assignment, sandboxed, two workers ----------------------------------------

def test_named_structure_cases_are_recorded_with_honest_scores(released_course, tmp_path):
    root = copy_course(released_course, tmp_path / "course")
    correct = answered(root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ANSWERS_CORRECT)
    partly = answered(root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ANSWERS_PARTLY)
    submit(root, "honest", correct)
    expected_zero = {"honest": set()}
    for name in CASES:
        data, zeroed = apply_case(correct, name)
        submit(root, name, data)
        expected_zero[name] = zeroed
    for label, shown in (("nan", "nan"), ("inf", "inf"), ("neg_inf", "-inf")):
        nb = answered(root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ANSWERS_PARTLY)
        nb.cells.insert(0, nbformat.v4.new_code_cell(FORMATTER.format(shown)))
        submit(root, f"formatter_{label}", nb)
    submit(root, "partly", partly)
    report = grade(root, workers=2, seed=3, options=QUICK)
    book = recorded(root, ASSIGNMENT)
    honest = {k: v for k, v in book["honest"]["cells"].items() if k.startswith("test_")}
    assert honest == {"test_add": 2.0, "test_mean": 3.0, "test_partial": 2.0}
    assert_recorded_as(report, root, ASSIGNMENT, honest, expected_zero)
    partly_cells = book["partly"]["cells"]
    for label in ("nan", "inf", "neg_inf"):  # recorded, a finite score, never above the honest one
        cells = book[f"formatter_{label}"]["cells"]
        assert all(math.isfinite(cells[k]) and cells[k] <= partly_cells[k] for k in honest), (label, cells)
    assert ResultStore(f"sqlite:///{root / 'gradebook.db'}").graded(ASSIGNMENT).keys() == \
        {(s, ASSIGNMENT) for s in book}
    assert_exports_list(root, ASSIGNMENT, set(book))


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=st.lists(mutations(["add", "mean", "test_add", "test_mean", "test_partial", "why", "setup"]),
                      min_size=3, max_size=3))
def test_random_structure_mutations_are_recorded_through_the_batch(released_course, tmp_path_factory, steps):
    root = copy_course(released_course, tmp_path_factory.mktemp("fuzz") / "course")
    partly = answered(root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ANSWERS_PARTLY)
    submit(root, "partly", partly)
    survivors = {}
    for n, student_steps in enumerate(steps):
        nb = mutate(json.loads(nbformat.writes(partly)), student_steps)
        survivors[f"m{n}"] = surviving_tests(nb, ["test_add", "test_mean", "test_partial"])
        submit(root, f"m{n}", json.dumps(nb).encode())
    report = grade(root, workers=2, seed=3, options=QUICK)
    assert not report.not_recorded, report.not_recorded
    book = recorded(root, ASSIGNMENT)
    assert set(book) == {"partly", *survivors}
    honest = book["partly"]["cells"]
    for student, kept in survivors.items():
        cells = book[student]["cells"]
        for cell in ("test_add", "test_mean", "test_partial"):
            assert cells[cell] <= honest[cell], (student, cell, cells, steps)
            if cell not in kept:
                assert cells[cell] == 0, (student, cell, cells, steps)
        assert book[student]["max_score"] == book["partly"]["max_score"]


# --- the recording step alone, many random structures (no sandbox per example) --------------------

@pytest.fixture(scope="module")
def graded_once(released_course, tmp_path_factory):
    """A course with one partly-correct submission graded for real; its result and executed notebook."""

    root = copy_course(released_course, tmp_path_factory.mktemp("record") / "course")
    data = nbformat.writes(answered(root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ANSWERS_PARTLY))
    output = grade_task(make_payload(ASSIGNMENT, "partly", ASSIGNMENT, data.encode(), 3, root, options=QUICK))
    assert output.result.status == "graded" and output.result.score == 3
    prepare_gradebook(Course(root), ASSIGNMENT)
    return root, output


SCORES = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none(), st.text(max_size=3),
                   st.integers(-10**6, 10**6))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(steps=mutations(["add", "mean", "test_add", "test_mean", "test_partial", "why", "setup"]),
       points=st.lists(SCORES, min_size=3, max_size=3), timestamp=st.one_of(st.none(), st.text(max_size=12)))
def test_any_structure_and_any_score_are_recorded(graded_once, steps, points, timestamp):

    root, output = graded_once
    executed = mutate(json.loads(output.executed), steps)
    result = copy.deepcopy(output.result)
    honest = check_cells(result)
    given_points = {}
    for check, value in zip(result.checks, points, strict=True):
        check.points = given_points[check.cell] = value
    course = Course(root)
    path, saved = record_autograded(course, ASSIGNMENT, "fuzzed", ASSIGNMENT, result, json.dumps(executed),
                                    timestamp)
    nb = nbformat.read(path, as_version=4)
    MetadataValidator().validate_nb(nb)
    assert sorted(autograded_cells(nb)) == sorted(honest)  # every released test cell exactly once
    kept = surviving_tests(executed, list(honest))
    with Gradebook(course.db_url) as gb:
        grades = {g.name: g.auto_score for g in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "fuzzed").grades}
    for cell in honest:
        limit, value = gb_max(course, cell), given_points[cell]
        assert math.isfinite(grades[cell]) and 0 <= grades[cell] <= limit
        if cell not in kept:
            assert grades[cell] == 0, (cell, steps)
        elif isinstance(value, (int, float)) and math.isfinite(value):  # a valid score is kept, clipped
            assert grades[cell] == min(max(value, 0), limit), (cell, value, grades[cell])
        elif value is None or (isinstance(value, float) and not math.isfinite(value)):
            assert grades[cell] == 0, (cell, value)
    # the result saved is the one recorded
    assert saved.score == pytest.approx(sum(grades[cell] for cell in honest), abs=1e-6)


def gb_max(course: Course, cell: str) -> float:

    with Gradebook(course.db_url) as gb:
        return gb.find_graded_cell(cell, ASSIGNMENT, ASSIGNMENT).max_score


def test_non_finite_check_points_count_zero_through_the_batch(released_course, tmp_path):
    """A check that reports NaN or infinity (a broken check, say) leaves the submission recorded
    with 0 for that check, the others unchanged."""
    root = copy_course(released_course, tmp_path / "course")
    correct = answered(root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ANSWERS_CORRECT)
    for student in ("nan", "inf", "honest"):
        submit(root, student, correct)
    report = grade(root, workers=2, seed=3, options=QUICK, task=non_finite_checks)
    assert not report.not_recorded and report.graded == 3
    book = recorded(root, ASSIGNMENT)
    assert book["honest"]["cells"]["test_add"] == 2
    for student in ("nan", "inf"):
        assert book[student]["cells"]["test_add"] == 0 and book[student]["cells"]["test_mean"] == 3
    by = {r.student: r for r in report.results}
    assert by["nan"].score == by["inf"].score == 5 and by["honest"].score == 7


def non_finite_checks(payload: dict):
    """The real grading task, then the ``test_add`` check's points made NaN or infinite for the
    students named so."""

    output = grade_task(payload)
    value = {"nan": math.nan, "inf": math.inf}.get(payload["student"])
    if value is not None:
        for check in output.result.checks:
            if check.cell == "test_add":
                check.points = value
        output.result.score = sum(c.points for c in output.result.checks)
    return output


# --- the xor assignment (hidden checks): zygote kernels and plain sandboxes -----------------------

@pytest.fixture(scope="module")
def xor_course(tmp_path_factory) -> Path:
    root = make_course(tmp_path_factory.mktemp("xor"))
    for folder in ("solutions", "assignments"):
        shutil.copytree(REPO / folder / "xor", root / folder / "xor")
    return root


XOR_CASES = ["pasted_test_cells", "retyped_grade_id", "added_grade_cells", "solutions_made_grade_cells",
             "odd_points", "odd_schema", "garbled_metadata", "deleted_test_cell", "moved_markdown", "garbage_cells"]


# plain sandboxes pay `import torch` per notebook: they get the cases that change what is sent to them
PLAIN_CASES = ["pasted_test_cells", "garbled_metadata", "deleted_test_cell", "garbage_cells"]


@pytest.mark.parametrize("options,cases", [({}, XOR_CASES), ({"zygote": False}, PLAIN_CASES)],
                         ids=["zygote", "plain"])
def test_xor_structure_cases_are_recorded_with_honest_scores(xor_course, tmp_path, options, cases):
    root = copy_course(xor_course, tmp_path / "course")
    released = _released(root, "xor")
    correct = without_manual_experiments(fill(released, reference_answers(root / "solutions" / "xor" / "xor.ipynb")))
    expected_zero = {"honest": set()}
    folder = root / "submitted"
    for name, content in [("honest", nbformat.writes(correct).encode())] + \
                         [(n, apply_case(correct, n)[0]) for n in cases]:
        (folder / name / "xor").mkdir(parents=True)
        (folder / name / "xor" / "xor.ipynb").write_bytes(content)
        if name != "honest":
            expected_zero[name] = apply_case(correct, name)[1]
    course = Course(root)
    report = grade_class("xor", course.find_submissions("xor"), workers=2, seed=11, progress=False, course=course,
                         options=options)
    book = recorded(root, "xor")
    honest = {k: v for k, v in book["honest"]["cells"].items() if k.startswith("test_")}
    assert sum(honest.values()) == 12 and len(honest) == 5  # the reference earns every test point
    assert_recorded_as(report, root, "xor", honest, expected_zero)
    assert_exports_list(root, "xor", set(book))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=mutations(["add", "mean", "test_add", "test_mean", "test_partial", "why", "setup"]))
def test_what_the_grader_receives_is_always_a_well_formed_notebook(released_course, steps):
    """The bytes sent to the sandbox: a valid nbformat 4 notebook that the hidden-checks engine
    reads, with each released grade_id at most once and released metadata only."""

    released = _released(released_course)
    partly = answered(released_course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ANSWERS_PARTLY)
    data = json.dumps(mutate(json.loads(nbformat.writes(partly)), steps)).encode()
    sent = normalized_submission(data, released)
    nb = nbformat.reads(sent.decode(), as_version=4)
    nbformat.validate(nb)
    MetadataValidator().validate_nb(nb)
    read_submission(sent)  # raises NotebookError for anything the engine would refuse
    originals = released_cells(released)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)) and set(ids) <= set(originals)
    for cell in nb.cells:
        if "nbgrader" in cell.metadata:
            assert cell.metadata == originals[cell.metadata["nbgrader"]["grade_id"]].metadata
