"""The class's progress on one assignment, as the instructor's dashboard shows it: who handed in
(on time, late, not yet), each student's graded attempt, and the points recorded per hidden check
and in total (from the graded attempts that finished), the hardest checks first."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from autograder.leaderboard.handins import AttemptView, graded_choice
from autograder.leaderboard.homework_models import DONE


@dataclass(frozen=True)
class StudentRow:
    """One student of the roster: their graded attempt (None: nothing handed in yet)."""

    student: str
    attempts: int
    graded: AttemptView | None

    @property
    def status(self) -> str:
        """``on time``, ``late`` or ``missing``."""
        if self.graded is None:
            return "missing"
        return "late" if self.graded.late else "on time"


@dataclass(frozen=True)
class CheckPoints:
    """The points each graded attempt earned on one hidden check."""

    name: str
    max_points: float
    points: list[float] = field(default_factory=list)

    @property
    def mean_fraction(self) -> float:
        """The class's mean share of the check's points (the smaller, the harder)."""
        return sum(self.points) / (len(self.points) * self.max_points) if self.points and self.max_points else 1.0


@dataclass(frozen=True)
class Progress:
    """An assignment's counts, per-student rows, per-check points (hardest first) and totals."""

    assignment: str
    rows: list[StudentRow]
    checks: list[CheckPoints]
    totals: list[float]
    max_score: float | None

    def count(self, status: str) -> int:
        """How many students are ``on time``, ``late`` or ``missing``."""
        return sum(row.status == status for row in self.rows)

    def counts(self) -> dict:
        """The headline numbers."""
        return {"students": len(self.rows), "submitted": len(self.rows) - self.count("missing"),
                "on_time": self.count("on time"), "late": self.count("late"), "missing": self.count("missing")}


def _hidden(attempt: AttemptView) -> dict:
    try:
        hidden = json.loads(attempt.hidden) if attempt.hidden else {}
    except ValueError:
        return {}
    return hidden if isinstance(hidden, dict) else {}


def progress(assignment: str, students: list[str], attempts: list[AttemptView]) -> Progress:
    """The :class:`Progress` of ``students`` (the roster) from every attempt at ``assignment``."""
    by_student: dict[str, list[AttemptView]] = {student: [] for student in students}
    for attempt in attempts:
        by_student.setdefault(attempt.student, []).append(attempt)
    rows = [StudentRow(student, len(mine), graded_choice(mine)) for student, mine in sorted(by_student.items())]
    checks: dict[str, CheckPoints] = {}
    totals, max_score = [], None
    for row in rows:
        if row.graded is None or row.graded.state != DONE or row.graded.score is None:
            continue
        totals.append(row.graded.score)
        max_score = row.graded.max_score
        for check in _hidden(row.graded).get("checks", []):
            entry = checks.setdefault(check["name"], CheckPoints(check["name"], float(check["max_points"])))
            entry.points.append(float(check["points"]))
    hardest = sorted(checks.values(), key=lambda c: (c.mean_fraction, c.name))
    return Progress(assignment, rows, hardest, totals, max_score)
