"""The per-student table of ``autograder demo-course`` follows the server's graded pick (the dashboard's
rule), not simply the latest attempt."""

from __future__ import annotations

from autograder.classroom.class_table import format_table, student_rows


def attempt(student: str, attempt_id: int, late: bool, score: float, graded: bool) -> dict:
    return {"student": student, "id": attempt_id, "late": late, "state": "done", "graded": graded,
            "visible": {"tests": [{"passed": True}, {"passed": score > 6}]}, "hidden": {"score": score, "max_score": 12}}


def test_the_row_shows_the_graded_attempt_not_the_latest():
    rows = student_rows([attempt("ann", 1, False, 12, True), attempt("ann", 3, True, 3, False),
                         attempt("bo", 2, False, 4, False), attempt("bo", 4, False, 9, True)])
    ann, bo = rows
    assert (ann.student, ann.attempts, ann.late, ann.score, ann.visible_passed) == ("ann", 2, False, 12, 2)
    assert (bo.student, bo.late, bo.score, bo.visible_passed) == ("bo", False, 9, 2)
    table = format_table("xor", rows).splitlines()
    assert table[1].split() == ["ann", "2", "done", "no", "2/2", "12/12"]
