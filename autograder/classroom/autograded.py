"""Turn one graded submission into nbgrader's autograded notebook and its gradebook rows.

The trusted verdicts are written into the autograder test cells' outputs in the form nbgrader's
``determine_grade`` reads (a numeric ``execute_result`` with the points earned; an ``error``
output only when the trusted checks gave the cell 0), and then nbgrader's own preprocessors do
the rest, in-process: ``OverwriteCells`` restores tampered locked and test cells and points
metadata from the gradebook (so a student cannot change a cell's maximum), ``SaveAutoGrades``
records the grades (manually graded answers keep ``needs_manual_grade``), and
``AssignLatePenalties`` applies the course's late policy. What the student's kernel printed in
a test cell is kept as plain output and can never change a score.

Whatever the submission's structure, it is recorded: before nbgrader sees the notebook it gets
the released nbgrader structure (:func:`~autograder.grading.structure.reset_structure`: only
released cells carry nbgrader metadata, each once; a released test cell the submission lacks is
put back and scores 0), every score is a finite number (:func:`finite_result`), and an
unreadable submission time counts as the time of grading (never earlier than the truth).

The grader opening the notebook in formgrader finds each manually graded cell's rubric, from the
solution notebook, in a cell right after it (:mod:`autograder.classroom.rubrics`).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import math
import warnings
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from sqlalchemy.exc import SAWarning

from autograder.classroom.course import Course, private_dir
from autograder.classroom.rubrics import course_rubrics, with_rubrics
from autograder.grading.results import CheckResult, SubmissionResult
from autograder.grading.structure import parse_notebook, reset_structure

REPORT_HEADER = "Autograder (trusted checks):\n"
OUTCOME_MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT"}
MISSING_LINE = "this test cell was missing from your submission (the released one was put back): 0 points"


def _points(value: float) -> str:
    return f"{value:g}"


def finite(value) -> float:
    """``value`` as a float; 0 when it is not a finite number (NaN, infinity, text, None)."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def finite_result(result: SubmissionResult) -> SubmissionResult:
    """A copy of ``result`` in which every score is finite: a check's points that are not a finite
    number count 0 and lie within [0, the check's maximum]; the total is the sum of the checks."""
    checks = []
    for check in result.checks:
        limit = max(finite(check.max_points), 0.0)
        checks.append(dataclasses.replace(check, max_points=limit, points=min(max(finite(check.points), 0.0), limit)))
    if result.status != "graded":
        score = 0.0
    elif checks:
        score = round(sum(c.points for c in checks), 6)
    else:
        score = max(finite(result.score), 0.0)
    return dataclasses.replace(result, checks=checks, max_score=max(finite(result.max_score), 0.0), score=score)


def without_missing(result: SubmissionResult, missing) -> SubmissionResult:
    """``result`` with the checks of the test cells in ``missing`` (the submission lacked them) at 0."""
    if not missing:
        return result
    checks = [dataclasses.replace(c, points=0.0, outcome="failed", message=MISSING_LINE)
              if c.cell in missing and c.points else c for c in result.checks]
    score = round(sum(c.points for c in checks), 6) if result.status == "graded" else result.score
    return dataclasses.replace(result, checks=checks, score=score)


def cell_scores(result: SubmissionResult,
                max_points: dict[str, float]) -> dict[str, tuple[float, list[CheckResult]]]:
    """grade_id -> (points earned, the checks that scored it), clipped to the gradebook's maximum.

    A test cell no check scored earns 0 (a trusted verdict is required for every point).
    """
    checks_by_cell: dict[str, list[CheckResult]] = {cell: [] for cell in max_points}
    for check in result.checks:
        if check.cell in checks_by_cell:
            checks_by_cell[check.cell].append(check)
    scores = {}
    for cell, limit in max_points.items():
        checks = checks_by_cell[cell]
        earned = sum(finite(c.points) for c in checks) if result.status == "graded" else 0.0
        scores[cell] = (min(max(earned, 0.0), finite(limit)), checks)
    return scores


def _report_lines(checks: list[CheckResult], result: SubmissionResult, missing: bool = False) -> list[str]:
    if missing:
        return [MISSING_LINE]
    if result.status != "graded":
        return [f"not graded: {result.error or 'the submission could not be graded'}"]
    if not checks:
        return ["no check of the grader scored this cell"]
    lines = []
    for check in checks:
        mark = OUTCOME_MARK.get(check.outcome, str(check.outcome).upper())
        line = f"{mark:7} {check.name}  {_points(finite(check.points))}/{_points(finite(check.max_points))}"
        if check.message and check.outcome != "passed":
            line += f"  {check.message}"
        lines.append(line)
    return lines


def _student_outputs(outputs: list) -> list[NotebookNode]:
    """The student's own run of a test cell, made unable to influence ``determine_grade``:
    stderr and errors become plain stdout text (no traceback), results become display data."""
    kept = []
    for output in outputs or []:
        kind = output.get("output_type")
        if kind == "stream":
            kept.append(nbformat.v4.new_output("stream", name="stdout", text=output.get("text", "")))
        elif kind == "error":
            text = f"[your notebook's run of this cell] {output.get('ename', '')}: {output.get('evalue', '')}\n"
            kept.append(nbformat.v4.new_output("stream", name="stdout", text=text))
        elif kind in ("execute_result", "display_data"):
            kept.append(nbformat.v4.new_output("display_data", data=output.get("data", {}),
                                               metadata=output.get("metadata", {})))
    return kept


def verdict_outputs(earned: float, limit: float, lines: list[str]) -> list[NotebookNode]:
    """Outputs that make nbgrader's ``determine_grade`` return exactly ``earned``."""
    report = nbformat.v4.new_output("stream", name="stdout",
                                    text=REPORT_HEADER + "".join(f"  {x}\n" for x in lines))
    if earned > 0:
        verdict = nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(earned))},
                                         execution_count=None)
    else:
        verdict = nbformat.v4.new_output("error", ename="AutograderVerdict",
                                         evalue=f"0 of {_points(limit)} points",
                                         traceback=[f"AutograderVerdict: 0 of {_points(limit)} points"])
    return [report, verdict]


def student_outputs_of(cell) -> list:
    """A test cell's outputs in an autograded notebook without the two the grader put first."""
    outputs = list(cell.get("outputs") or [])
    first = outputs[0] if outputs else {}
    if first.get("output_type") == "stream" and str(first.get("text", "")).startswith(REPORT_HEADER):
        return outputs[2:]
    return outputs


def _resources(course: Course, assignment: str, notebook: str, student: str) -> dict:
    return {"nbgrader": {"db_url": course.db_url, "assignment": assignment, "notebook": notebook,
                         "student": student}, "metadata": {"path": ""}}


def _run(preprocessors, nb, resources, config):
    for cls, kwargs in preprocessors:
        nb, resources = cls(config=config, **kwargs).preprocess(nb, resources)
    return nb, resources


def load_notebook(text: str | None, fallback: Path):
    """The executed notebook (its JSON, however malformed its cells: :func:`reset_structure`
    copes) or, when there is none, a copy of the released one with no outputs."""
    parsed = parse_notebook(text) if text else None
    if parsed is not None:
        return parsed
    nb = nbformat.read(fallback, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    return nb


def submission_time(timestamp: str | None) -> str | None:
    """The submission's timestamp for nbgrader, or the time of grading when it cannot be read
    (so a garbled ``timestamp.txt`` can never make a late submission look on time)."""
    from nbgrader.utils import parse_utc  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

    if not timestamp:
        return None
    try:
        parse_utc(timestamp)
    except Exception:  # noqa: BLE001 - dateutil raises several types for garbage
        return dt.datetime.now(dt.UTC).isoformat()
    return timestamp


def _open_submission(course: Course, assignment: str, student: str, notebook: str, timestamp: str | None):
    """Create the student's submission rows; return grade_id -> maximum of every autograded cell."""
    from nbgrader.api import Gradebook  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

    with Gradebook(course.db_url, course.coursedir.course_id) as gb, warnings.catch_warnings():
        # nbgrader's own update_or_create_submission trips an SQLAlchemy autoflush warning
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(student)
        stamp = submission_time(timestamp)
        if stamp:
            gb.update_or_create_submission(assignment, student, timestamp=stamp)
        else:
            gb.update_or_create_submission(assignment, student)
        source = gb.find_notebook(notebook, assignment)
        solutions = {cell.name for cell in source.solution_cells}
        return {cell.name: float(cell.max_score) for cell in source.grade_cells
                if cell.cell_type == "code" and cell.name not in solutions}


def record_autograded(course: Course, assignment: str, student: str, notebook: str, result: SubmissionResult,
                      executed: str | None, timestamp: str | None = None) -> tuple[Path, SubmissionResult]:
    """Write ``autograded/<student>/<assignment>/<notebook>.ipynb`` and its grades in the gradebook;
    return that notebook's path and the result as recorded (finite scores, test cells the
    submission lacked at 0).

    ``executed`` is the notebook JSON the sandbox produced (None when the submission could not
    be read: the released notebook stands in, every test cell at 0).
    """
    from nbgrader import utils  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it
    from nbgrader.preprocessors import (  # noqa: PLC0415 - deferred: see the line above
        AssignLatePenalties,
        CheckCellMetadata,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    released_path = course.released_notebooks(assignment)[notebook]
    released = nbformat.read(released_path, as_version=4)
    nb, missing = reset_structure(load_notebook(executed, released_path), released)
    result = without_missing(finite_result(result), missing)
    max_points = _open_submission(course, assignment, student, notebook, timestamp)
    config = copy.deepcopy(course.config)
    resources = _resources(course, assignment, notebook, student)
    nb, resources = _run([(OverwriteKernelspec, {}), (OverwriteCells, {"add_missing_cells": False}),
                          (CheckCellMetadata, {})], nb, resources, config)
    scores = cell_scores(result, max_points)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type != "code" or grade_id not in scores or not utils.is_grade(cell) or utils.is_solution(cell):
            continue
        earned, checks = scores[grade_id]
        cell.outputs = verdict_outputs(earned, max_points[grade_id],
                                       _report_lines(checks, result, grade_id in missing)) \
            + _student_outputs(cell.get("outputs"))
    nb, resources = _run([(LimitOutput, {}), (SaveAutoGrades, {}), (AssignLatePenalties, {}),
                          (CheckCellMetadata, {})], nb, resources, config)
    nb = with_rubrics(nb, course_rubrics(course.source_notebooks(assignment).get(notebook), course.config))
    private_dir(course.root / course.coursedir.autograded_directory)
    folder = course.folder("autograded_directory", student, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{notebook}.ipynb"
    tmp = target.with_suffix(".ipynb.tmp")
    tmp.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target, result
