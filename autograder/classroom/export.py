"""Export the gradebook as a file an LMS imports as is (the command is ``autograder export``).

``--format canvas`` writes Canvas's gradebook CSV: ``Student, ID, SIS User ID, SIS Login ID,
Section`` and one column per assignment, headed ``<name> (<canvas id>)`` when the Canvas
assignment id is given with ``--canvas-id NAME=ID`` (Canvas then updates that assignment) and
``<name>`` otherwise (Canvas creates it on import: its importer only reads numeric ids), with a
``Points Possible`` row first. Students are matched by Canvas user id (nbgrader's
``lms_user_id``) or SIS login (the nbgrader student id). ``--format csv`` writes the columns of
``nbgrader export`` (same scores, properly quoted). One row per student of the roster (nbgrader's
student table, which grading fills in); a missing submission is 0 or blank (``--missing``).
Scores are nbgrader's: automatic and manual grades, after the late penalty.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from autograder.classroom.course import Course
from autograder.errors import UserError

CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "    Points Possible"
NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                    "raw_score", "late_submission_penalty", "score", "max_score"]


@dataclass
class Row:
    """One student's standing in one assignment (score None: nothing submitted)."""

    assignment: str
    duedate: object
    max_score: float
    student_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    lms_user_id: str | None
    timestamp: object = None
    raw_score: float | None = None
    penalty: float | None = None

    @property
    def score(self) -> float | None:
        """Points after the late penalty, as ``nbgrader export`` computes them."""
        return None if self.raw_score is None else max(0.0, self.raw_score - (self.penalty or 0.0))


def collect(course: Course, assignments: list[str] | None = None) -> tuple[list[str], list[Row]]:
    """Assignment names (gradebook order) and one :class:`Row` per student and assignment."""
    from nbgrader.api import Gradebook, MissingEntry  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

    rows, names = [], []
    with Gradebook(course.db_url, course.coursedir.course_id) as gb:
        known = [a.name for a in gb.assignments]
        unknown = sorted(set(assignments or []) - set(known))
        if unknown:
            raise UserError(f"the gradebook has no assignment {', '.join(unknown)} "
                            f"(it has: {', '.join(known) or 'none'})")
        for assignment in gb.assignments:
            if assignments and assignment.name not in assignments:
                continue
            names.append(assignment.name)
            for student in sorted(gb.students, key=lambda s: s.id):
                row = Row(assignment.name, assignment.duedate, float(assignment.max_score), student.id,
                          student.first_name, student.last_name, student.email, student.lms_user_id)
                try:
                    submission = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    pass
                else:
                    row.timestamp = submission.timestamp
                    row.raw_score = float(submission.score)
                    row.penalty = float(submission.late_submission_penalty or 0.0)
                rows.append(row)
    return names, rows


def _number(value: float | None, missing: str) -> str:
    if value is None:
        return "0.0" if missing == "zero" else ""
    return repr(float(value))


def _display_name(row: Row) -> str:
    if row.last_name and row.first_name:
        return f"{row.last_name}, {row.first_name}"
    return row.last_name or row.first_name or row.student_id


def canvas_header(name: str, canvas_ids: dict[str, str]) -> str:
    """A Canvas assignment column title."""
    return f"{name} ({canvas_ids[name]})" if name in canvas_ids else name


def write_canvas(path: Path, names: list[str], rows: list[Row], missing: str, canvas_ids: dict[str, str]) -> int:
    """Write Canvas's gradebook CSV; return the number of student rows."""
    students: dict[str, dict[str, Row]] = {}
    max_scores = {}
    for row in rows:
        students.setdefault(row.student_id, {})[row.assignment] = row
        max_scores[row.assignment] = row.max_score
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CANVAS_STUDENT_COLUMNS + [canvas_header(n, canvas_ids) for n in names])
        writer.writerow([POINTS_POSSIBLE, "", "", "", ""] + [repr(max_scores.get(n, 0.0)) for n in names])
        for student_id, by_name in students.items():
            first = next(iter(by_name.values()))
            writer.writerow([_display_name(first), first.lms_user_id or "", "", student_id, ""]
                            + [_number(by_name[n].score, missing) for n in names])
    return len(students)


def write_nbgrader_csv(path: Path, rows: list[Row], missing: str) -> int:
    """Write the columns of ``nbgrader export`` (one line per student and assignment)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(NBGRADER_COLUMNS)
        for row in rows:
            writer.writerow([row.assignment, "" if row.duedate is None else row.duedate,
                             "" if row.timestamp is None else row.timestamp, row.student_id,
                             row.last_name or "", row.first_name or "", row.email or "",
                             _number(row.raw_score, missing), _number(row.penalty, missing),
                             _number(row.score, missing), repr(row.max_score)])
    return len({row.student_id for row in rows})


def parse_canvas_ids(pairs: list[str] | None) -> dict[str, str]:
    """``NAME=ID`` pairs -> dict; Canvas ids are numbers."""
    ids = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value.isdigit():
            raise UserError(f"--canvas-id wants NAME=NUMBER (the Canvas assignment id), got {pair!r}")
        ids[name] = value
    return ids
