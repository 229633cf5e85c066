"""Feedback: one HTML report per student and notebook (the command is ``autograder feedback``).

The report is the notebook as nbconvert's HTML exporter renders it (JupyterLab's look: markdown
tables, highlighted code, figures; template ``templates/feedback/``), sanitized, and shows it as
graded: the student's cells and outputs, locked cells as released, each trusted check's outcome
and message under the test cell it scores, the points of every graded cell (manual grades and
comments included) and the total, all read from the gradebook and the autograded notebooks. No
hidden source reaches it: the graders' rubric cells are dropped, locked and test cells carry
their released text (the gradebook keeps nothing else), tracebacks of test cells are reduced to
their last line, and every output, message and traceback line quoting a hidden check or hidden
test is replaced (:mod:`autograder.grading.redact`). The file goes where nbgrader's ``generate_feedback`` puts it
(``feedback/<student>/<assignment>/<notebook>.html``), so ``nbgrader release_feedback`` hands it
out unchanged.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from pathlib import Path

import bleach
import nbformat
from nbconvert import HTMLExporter

from autograder.classroom.autograded import student_outputs_of
from autograder.classroom.course import Course, private_dir
from autograder.classroom.gradebook import ResultStore, require_assignment, stored_result
from autograder.classroom.rubrics import without_rubrics
from autograder.errors import UserError
from autograder.grading.redact import Redactor, hidden_lines, strip_ansi
from autograder.grading.results import CheckResult, SubmissionResult

TEMPLATES = Path(__file__).resolve().parent / "templates"
# What an output may show: the rest (JavaScript, SVG, widgets, ...) is dropped from the report.
SHOWN_MIMETYPES = ("image/png", "image/jpeg", "text/html", "text/markdown", "text/latex", "text/plain")
IMAGES = ("image/png", "image/jpeg")
# nbconvert's own sanitizer (``clean_html``) drops thead/tbody/th, so a markdown table loses its
# header row; the report's keeps tables whole and allows images only as http(s) or inline PNG/JPEG.
ALLOWED_TAGS = [*bleach.ALLOWED_TAGS, "div", "pre", "code", "span", "p", "br", "hr", "img", "sub", "sup",
                "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "del"]
INLINE_IMAGE = ("data:image/png;base64,", "data:image/jpeg;base64,")


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name in ("class", "id") or (tag in ("a", "abbr") and name == "title"):
        return True
    if tag == "a" and name == "href":
        return not value.strip().lower().startswith("data:")
    if tag == "img" and name == "src":
        return value.startswith(("http://", "https://", *INLINE_IMAGE))
    return tag == "img" and name in ("alt", "width", "height")


def clean_report_html(element) -> str:
    """Sanitize rendered markdown, HTML outputs and highlighted code (the template's ``clean_html``)."""
    element = element.decode() if isinstance(element, bytes) else str(element)
    return bleach.clean(element, tags=ALLOWED_TAGS, attributes=_allowed_attribute,
                        protocols=[*bleach.ALLOWED_PROTOCOLS, "data"])


def feedback_exporter() -> HTMLExporter:
    """nbconvert's HTML exporter with the feedback template (templates/feedback/), sanitizing
    every markdown cell and HTML output with :func:`clean_report_html`."""
    exporter = HTMLExporter(template_name="feedback", extra_template_basedirs=[str(TEMPLATES)],
                            sanitize_html=True, exclude_anchor_links=True)
    exporter.register_filter("clean_html", clean_report_html)
    return exporter


def _pts(value) -> str:
    return "-" if value is None else f"{float(value):g}"


def shown_outputs(outputs: list, redactor: Redactor, short_errors: bool) -> list[dict]:
    """The outputs as the report shows them: redacted, errors of test cells cut to their last
    line, display data reduced to :data:`SHOWN_MIMETYPES` (images only when valid base64)."""
    shown = []
    for output in redactor.outputs(json.loads(json.dumps(outputs))):
        kind = output.get("output_type")
        if kind == "stream":
            name = "stderr" if output.get("name") == "stderr" else "stdout"
            shown.append(nbformat.v4.new_output("stream", name=name, text=_text(output.get("text", ""))))
        elif kind == "error":
            ename, evalue = str(output.get("ename", "")), str(output.get("evalue", ""))
            lines = [f"{ename}: {evalue}"] if short_errors else [
                strip_ansi(str(x)) for x in output.get("traceback", [])]
            shown.append(nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=lines))
        elif kind in ("display_data", "execute_result"):
            data = {mime: _text(value) for mime, value in (output.get("data") or {}).items()
                    if mime in SHOWN_MIMETYPES and (mime not in IMAGES or _is_base64(value))}
            if data:
                shown.append(nbformat.v4.new_output("display_data", data=data))
    return shown


def _text(value) -> str:
    return "".join(map(str, value)) if isinstance(value, list) else str(value)


def _is_base64(value) -> bool:
    try:
        base64.b64decode(_text(value).replace("\n", ""), validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def _check_rows(checks: list[CheckResult], redactor: Redactor) -> list[dict]:
    return [{"name": c.name, "outcome": c.outcome, "points": _pts(c.points), "max_points": _pts(c.max_points),
             "message": redactor.text(str(c.message or ""))} for c in checks]


def _gradebook_view(course: Course, assignment: str, student: str, notebook: str) -> dict:
    """The student's grades, comments and totals of one notebook, read from nbgrader's gradebook."""
    from nbgrader.api import Gradebook  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

    with Gradebook(course.db_url, course.coursedir.course_id) as gb:
        submission = gb.find_submission_notebook(notebook, assignment, student)
        return {"total": submission.score, "max_total": submission.max_score,
                "pending": submission.needs_manual_grade,
                "grades": {g.name: {"score": g.score, "max": g.max_score, "pending": g.needs_manual_grade}
                           for g in submission.grades},
                "notes": {c.name: c.comment for c in submission.comments if c.comment}}


def feedback_notebook(nb, view: dict, result: SubmissionResult | None, redactor: Redactor):
    """A copy of the autograded notebook ready to render: no rubric cell, outputs as
    :func:`shown_outputs` keeps them, and each graded cell's points, checks and comment in
    ``metadata.feedback``; also the rows of the points table."""
    nb = without_rubrics(copy.deepcopy(nb))
    grades, notes = view["grades"], view["notes"]
    checks_by_cell: dict[str, list[CheckResult]] = {}
    for check in result.checks if result else []:
        checks_by_cell.setdefault(check.cell, []).append(check)
    summary = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        is_test = grade_id in grades and cell.cell_type == "code" and not meta.get("solution")
        if cell.cell_type == "code":
            outputs = student_outputs_of(cell) if is_test else cell.get("outputs", [])
            cell.outputs = shown_outputs(outputs, redactor, short_errors=is_test)
        cell.metadata.pop("feedback", None)
        if grade_id not in grades:
            continue
        row = grades[grade_id]
        summary.append({"id": grade_id, "kind": "autograded test" if is_test else "graded by hand",
                        "points": _pts(row["score"]), "max": _pts(row["max"]), "pending": row["pending"]})
        cell.metadata["feedback"] = {
            "id": grade_id, "heading": f"{grade_id}: {_pts(row['score'])} / {_pts(row['max'])} points",
            "css": "graded" if row["score"] == row["max"] else ("zero" if not row["score"] else "partial"),
            "checks": _check_rows(checks_by_cell.get(grade_id, []), redactor) if is_test else [],
            "comment": notes.get(grade_id, "")}
    return nb, summary


def render_report(course: Course, assignment: str, student: str, notebook: str, redactor: Redactor,
                  result: SubmissionResult | None, exporter: HTMLExporter | None = None) -> str:
    """The feedback HTML of one student's notebook (gradebook + autograded notebook + result)."""
    path = course.folder("autograded_directory", student, assignment) / f"{notebook}.ipynb"
    view = _gradebook_view(course, assignment, student, notebook)
    nb, summary = feedback_notebook(nbformat.read(path, as_version=4), view, result, redactor)
    note = ""
    if result and result.status != "graded":
        note = "This notebook could not be graded: " + redactor.text(str(result.error or "unknown reason"))
    feedback = {"assignment": assignment, "notebook": notebook, "student": student, "total": _pts(view["total"]),
                "max_total": _pts(view["max_total"]), "pending": view["pending"], "summary": summary,
                "status_note": note}
    body, _ = (exporter or feedback_exporter()).from_notebook_node(
        nb, resources={"feedback": feedback, "metadata": {"name": f"{assignment} - feedback for {student}"}})
    return body


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
    exporter = feedback_exporter()
    for (student, notebook), row in sorted(graded.items()):
        if wanted is not None and student not in wanted:
            continue
        html = render_report(course, assignment, student, notebook, redactor, stored_result(row), exporter)
        folder = base / student / assignment if out else course.folder("feedback_directory", student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{notebook}.html"
        target.write_text(html, encoding="utf-8")
        written.append(target)
    if wanted is not None and not written:
        raise UserError(f"no graded submission of {assignment!r} for {', '.join(sorted(wanted))}")
    return written
