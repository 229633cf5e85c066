"""Feedback: one HTML report per student and notebook (the command is ``autograder feedback``).

The report shows the notebook as graded (the student's cells and outputs, locked cells as
released), each trusted check's outcome and message under the test cell it scores, the points
of every graded cell (manual grades and comments included) and the total, all read from the
gradebook and the autograded notebooks. No hidden source reaches it: locked and test cells
carry their released text (the gradebook keeps nothing else), tracebacks of test cells are
reduced to their last line, and every output, message and traceback line quoting a hidden
check or hidden test is replaced (:mod:`autograder.grading.redact`). The file goes where
nbgrader's ``generate_feedback`` puts it (``feedback/<student>/<assignment>/<notebook>.html``),
so ``nbgrader release_feedback`` hands it out unchanged.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

import jinja2
import mistune
import nbformat
from markupsafe import Markup

from autograder.classroom.autograded import student_outputs_of
from autograder.classroom.course import Course, private_dir
from autograder.classroom.gradebook import ResultStore, require_assignment, stored_result
from autograder.errors import UserError
from autograder.grading.redact import Redactor, hidden_lines, strip_ansi
from autograder.grading.results import CheckResult, SubmissionResult

TEMPLATE = jinja2.Environment(loader=jinja2.PackageLoader("autograder.classroom", "templates"),
                              autoescape=True).get_template("feedback.html.j2")


def _pts(value) -> str:
    return "-" if value is None else f"{float(value):g}"


def _markdown(source: str) -> Markup:
    return Markup(mistune.create_markdown(escape=True)(source))


def _render_outputs(outputs: list, redactor: Redactor, short_errors: bool) -> list[dict]:
    rendered = []
    for output in redactor.outputs(json.loads(json.dumps(outputs))):
        kind = output.get("output_type")
        if kind == "stream":
            rendered.append({"text": _text(output.get("text", "")),
                             "css": "err" if output.get("name") == "stderr" else ""})
        elif kind == "error":
            lines = [f"{output.get('ename', '')}: {output.get('evalue', '')}"] if short_errors \
                else [strip_ansi(str(x)) for x in output.get("traceback", [])]
            rendered.append({"text": "\n".join(lines), "css": "err"})
        else:
            data = output.get("data", {})
            image = next((m for m in ("image/png", "image/jpeg") if m in data), None)
            if image and _is_base64(data[image]):
                rendered.append({"image": _text(data[image]).replace("\n", ""), "mime": image})
            elif "text/plain" in data:
                rendered.append({"text": _text(data["text/plain"]), "css": ""})
    return rendered


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _is_base64(value) -> bool:
    try:
        base64.b64decode(_text(value).replace("\n", ""), validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def _check_rows(checks: list[CheckResult], redactor: Redactor) -> list[dict]:
    return [{"name": c.name, "outcome": c.outcome, "points": _pts(c.points), "max_points": _pts(c.max_points),
             "message": redactor.text(str(c.message or ""))} for c in checks]


def render_report(course: Course, assignment: str, student: str, notebook: str, redactor: Redactor,
                  result: SubmissionResult | None) -> str:
    """The feedback HTML of one student's notebook (gradebook + autograded notebook + result)."""
    from nbgrader.api import Gradebook  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

    path = course.folder("autograded_directory", student, assignment) / f"{notebook}.ipynb"
    nb = nbformat.read(path, as_version=4)
    with Gradebook(course.db_url, course.coursedir.course_id) as gb:
        submission = gb.find_submission_notebook(notebook, assignment, student)
        grades = {g.name: g for g in submission.grades}
        comments = {c.name: c for c in submission.comments}
        total, max_total = submission.score, submission.max_score
        pending = submission.needs_manual_grade
        info = {name: {"score": g.score, "max": g.max_score, "pending": g.needs_manual_grade,
                       "auto": g.auto_score is not None and g.cell.cell_type == "code"} for name, g in grades.items()}
        notes = {name: c.comment for name, c in comments.items() if c.comment}
    checks_by_cell: dict[str, list[CheckResult]] = {}
    for check in result.checks if result else []:
        checks_by_cell.setdefault(check.cell, []).append(check)
    cells, summary = [], []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        entry = {"kind": cell.cell_type, "id": grade_id, "css": "", "heading": "", "checks": [],
                 "comment": notes.get(grade_id, ""), "outputs": [], "source": cell.source, "html": ""}
        if cell.cell_type == "markdown":
            entry["html"] = _markdown(cell.source)
        is_test = grade_id in info and cell.cell_type == "code" and not cell.metadata["nbgrader"].get("solution")
        if grade_id in info:
            row = info[grade_id]
            kind = "autograded test" if is_test else "graded by hand"
            summary.append({"id": grade_id, "kind": kind, "points": _pts(row["score"]), "max": _pts(row["max"]),
                            "pending": row["pending"]})
            entry["heading"] = f"{grade_id}: {_pts(row['score'])} / {_pts(row['max'])} points"
            entry["css"] = "graded" if row["score"] == row["max"] else ("zero" if not row["score"] else "partial")
        if cell.cell_type == "code":
            outputs = student_outputs_of(cell) if is_test else cell.get("outputs", [])
            entry["outputs"] = _render_outputs(outputs, redactor, short_errors=is_test)
        if is_test:
            entry["checks"] = _check_rows(checks_by_cell.get(grade_id, []), redactor)
        cells.append(entry)
    note = ""
    if result and result.status != "graded":
        note = "This notebook could not be graded: " + redactor.text(str(result.error or "unknown reason"))
    return TEMPLATE.render(assignment=assignment, notebook=notebook, student=student, total=_pts(total),
                           max_total=_pts(max_total), pending=pending, summary=summary, cells=cells,
                           status_note=note)


def write_feedback(course: Course, assignment: str, students: list[str] | None = None,
                   out: Path | None = None) -> list[Path]:
    """Write the reports of every graded submission of ``assignment``; return their paths."""
    require_assignment(course, assignment)
    store = ResultStore(course.db_url)
    graded = store.graded(assignment)
    store.dispose()
    wanted = set(students) if students else None
    redactor = Redactor(hidden_lines(assignment, list(course.source_notebooks(assignment).values()),
                                     list(course.released_notebooks(assignment).values())))
    written = []
    base = out or course.root / course.coursedir.feedback_directory
    private_dir(base)
    for (student, notebook), row in sorted(graded.items()):
        if wanted is not None and student not in wanted:
            continue
        html = render_report(course, assignment, student, notebook, redactor, stored_result(row))
        folder = base / student / assignment if out else course.folder("feedback_directory", student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{notebook}.html"
        target.write_text(html, encoding="utf-8")
        written.append(target)
    if wanted is not None and not written:
        raise UserError(f"no graded submission of {assignment!r} for {', '.join(sorted(wanted))}")
    return written
