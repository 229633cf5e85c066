"""The per-student table of one assignment, from the course server's instructor JSON
(``GET /api/instructor/assignments/{name}/attempts``): the numbers the instructor's dashboard shows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StudentRow:
    """One student's standing: their graded attempt (the server's ``graded`` flag: picked, else the
    latest on time, else the latest late one, as on the dashboard) and how many they made."""

    student: str
    attempts: int
    state: str
    late: bool
    visible_passed: int | None
    visible_total: int | None
    score: float | None
    max_score: float | None


def student_rows(attempts: list[dict]) -> list[StudentRow]:
    """One row per student (sorted by name), from the instructor's list of attempts."""
    by_student: dict[str, list[dict]] = {}
    for attempt in attempts:
        by_student.setdefault(attempt["student"], []).append(attempt)
    rows = []
    for student, theirs in sorted(by_student.items()):
        graded = next(a for a in theirs if a["graded"])
        tests = (graded.get("visible") or {}).get("tests")
        hidden = graded.get("hidden") or {}
        rows.append(StudentRow(student, len(theirs), graded["state"], bool(graded["late"]),
                               sum(t["passed"] for t in tests) if tests is not None else None,
                               len(tests) if tests is not None else None,
                               hidden.get("score"), hidden.get("max_score")))
    return rows


def format_table(assignment: str, rows: list[StudentRow]) -> str:
    """The rows as a plain-text table."""
    lines = [f"{assignment}: {'student':12}{'attempts':>9}{'state':>8}{'late':>6}{'visible':>9}{'hidden':>9}"]
    for row in rows:
        visible = f"{row.visible_passed}/{row.visible_total}" if row.visible_total is not None else "-"
        hidden = f"{row.score:g}/{row.max_score:g}" if row.max_score is not None else "-"
        lines.append(f"{'':{len(assignment) + 2}}{row.student:12}{row.attempts:>9}{row.state:>8}"
                     f"{'yes' if row.late else 'no':>6}{visible:>9}{hidden:>9}")
    return "\n".join(lines)
