"""``autograder feedback ASSIGNMENT``: one HTML report per student and notebook.

The report shows the notebook as graded (the student's cells and outputs, locked cells as
released), each trusted check's outcome and message under the test cell it scores, the points
of every graded cell (manual grades and comments included) and the total, all read from the
gradebook and the autograded notebooks. No hidden source reaches it: locked and test cells
carry their released text (the gradebook keeps nothing else), tracebacks of test cells are
reduced to their last line, and every output, message and traceback line quoting a hidden
check or hidden test is replaced (:mod:`autograder.classroom.redact`). The file goes where
nbgrader's ``generate_feedback`` puts it (``feedback/<student>/<assignment>/<notebook>.html``),
so ``nbgrader release_feedback`` hands it out unchanged.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
from pathlib import Path

import jinja2
import nbformat
from markupsafe import Markup

from autograder.classroom.autograded import student_outputs_of
from autograder.classroom.course import Course, private_dir
from autograder.classroom.gradebook import ResultStore, require_assignment
from autograder.classroom.redact import Redactor, hidden_lines, strip_ansi
from autograder.errors import UserError

TEMPLATE = jinja2.Environment(autoescape=True).from_string("""\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ assignment }} - feedback for {{ student }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;white-space:pre-wrap;margin:.3rem 0}
.cell{border-left:4px solid #ddd;padding-left:.8rem;margin:1.2rem 0}
.graded{border-left-color:#4a7}.zero{border-left-color:#c44}.partial{border-left-color:#d90}
.score{font-weight:bold}.out{background:#fff;border:1px solid #eee}.err{color:#a00}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
.passed{color:#262}.failed,.error,.timeout{color:#a00}.muted{color:#777}
</style></head><body>
<h1>{{ assignment }}: {{ notebook }}</h1>
<p>Student <b>{{ student }}</b>.
Total <span class="score" id="total">{{ total }} / {{ max_total }}</span>
{%- if pending %} <span class="muted">(some answers are still to be graded by hand)</span>{% endif %}.
{%- if status_note %}<br><span class="err">{{ status_note }}</span>{% endif %}</p>
<h2>Points per graded cell</h2>
<table><tr><th>cell</th><th>kind</th><th>points</th></tr>
{%- for row in summary %}
<tr><td><a href="#{{ row.id }}">{{ row.id }}</a></td><td>{{ row.kind }}</td>
<td>{{ row.points }} / {{ row.max }}{% if row.pending %} <span class="muted">(to be graded)</span>{% endif %}</td></tr>
{%- endfor %}
</table>
<h2>Your notebook</h2>
{%- for cell in cells %}
<div class="cell {{ cell.css }}" {% if cell.id %}id="{{ cell.id }}"{% endif %}>
{%- if cell.heading %}<p class="score">{{ cell.heading }}</p>{% endif %}
{%- if cell.kind == "markdown" %}{{ cell.html }}{% else %}<pre>{{ cell.source }}</pre>{% endif %}
{%- if cell.checks %}
<table class="checks"><tr><th>check</th><th>outcome</th><th>points</th><th>message</th></tr>
{%- for check in cell.checks %}
<tr><td>{{ check.name }}</td><td class="{{ check.outcome }}">{{ check.outcome }}</td>
<td>{{ check.points }} / {{ check.max_points }}</td><td><pre>{{ check.message }}</pre></td></tr>
{%- endfor %}</table>
{%- endif %}
{%- if cell.comment %}<p><b>Grader's comment:</b> {{ cell.comment }}</p>{% endif %}
{%- for out in cell.outputs %}
{%- if out.image %}<img alt="output" src="data:{{ out.mime }};base64,{{ out.image }}">
{%- else %}<pre class="out {{ out.css }}">{{ out.text }}</pre>{% endif %}
{%- endfor %}
</div>
{%- endfor %}
</body></html>
""")


def _pts(value) -> str:
    return "-" if value is None else f"{float(value):g}"


def _markdown(source: str) -> Markup:
    import mistune

    return Markup(mistune.create_markdown(escape=True)(source))


def _render_outputs(outputs: list, redactor: Redactor, short_errors: bool) -> list[dict]:
    rendered = []
    for output in redactor.outputs(json.loads(json.dumps(outputs))):
        kind = output.get("output_type")
        if kind == "stream":
            rendered.append({"text": _text(output.get("text", "")), "css": "err" if output.get("name") == "stderr" else ""})
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


def _check_rows(checks: list[dict], redactor: Redactor) -> list[dict]:
    return [{"name": c.get("name", ""), "outcome": c.get("outcome", ""), "points": _pts(c.get("points")),
             "max_points": _pts(c.get("max_points")), "message": redactor.text(str(c.get("message") or ""))}
            for c in checks]


def render_report(course: Course, assignment: str, student: str, notebook: str, redactor: Redactor,
                  result: dict | None) -> str:
    """The feedback HTML of one student's notebook (gradebook + autograded notebook + result)."""
    from nbgrader.api import Gradebook

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
    checks_by_cell: dict[str, list[dict]] = {}
    for check in (result or {}).get("checks", []):
        checks_by_cell.setdefault(check.get("cell"), []).append(check)
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
    if result and result.get("status") != "graded":
        note = "This notebook could not be graded: " + redactor.text(str(result.get("error") or "unknown reason"))
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
        html = render_report(course, assignment, student, notebook, redactor, json.loads(row["result_json"]))
        folder = base / student / assignment if out else course.folder("feedback_directory", student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{notebook}.html"
        target.write_text(html, encoding="utf-8")
        written.append(target)
    if wanted is not None and not written:
        raise UserError(f"no graded submission of {assignment!r} for {', '.join(sorted(wanted))}")
    return written


def run(args: argparse.Namespace) -> int:
    """Handle ``autograder feedback``."""
    course = Course(db_url=args.db)
    paths = write_feedback(course, args.assignment, args.student, args.out)
    where = args.out or course.root / course.coursedir.feedback_directory
    print(f"wrote {len(paths)} feedback report(s) for {args.assignment} under {where}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``feedback`` subcommand."""
    parser = subparsers.add_parser(
        "feedback",
        help="write one HTML feedback report per student (no hidden test source)",
        description=(
            "Write feedback/<student>/ASSIGNMENT/<notebook>.html for every graded submission: the "
            "notebook's outputs, each check's outcome and message, points per graded cell (manual "
            "grades included) and the total. Hidden checks and hidden tests never appear."
        ),
    )
    parser.add_argument("assignment", metavar="ASSIGNMENT", help="assignment name (as in solutions/)")
    parser.add_argument("--student", action="append", metavar="ID", help="only this student (repeatable)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write under DIR/<student>/ASSIGNMENT/ instead")
    parser.add_argument("--db", metavar="URL", help="gradebook URL (default: the course's gradebook.db)")
    parser.set_defaults(func=run)
