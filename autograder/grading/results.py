"""Grading results, in the JSON shape ``autograder grade --json`` writes (issue 4)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

OUTCOMES = ("passed", "failed", "error", "timeout")


@dataclass
class CheckResult:
    """One hidden check: the test cell (grade_id) it scores, the points earned, why."""

    name: str
    cell: str
    points: float
    max_points: float
    outcome: str
    message: str = ""


@dataclass
class SubmissionResult:
    """One graded notebook. ``status`` is "graded" when the checks ran (whatever the score),
    "error" when the submission could not be graded at all (then ``error`` says why)."""

    student: str
    notebook: str
    status: str
    score: float
    max_score: float
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        """The submission's JSON object."""
        data = asdict(self)
        data["score"] = round(self.score, 6)
        data["timings"] = {k: round(v, 3) for k, v in self.timings.items()}
        return data


@dataclass
class GradingRun:
    """All submissions graded with one seed."""

    assignment: str
    seed: int
    submissions: list[SubmissionResult] = field(default_factory=list)

    def to_json(self) -> dict:
        """The ``--json`` document."""
        return {"assignment": self.assignment, "seed": self.seed,
                "submissions": [s.to_json() for s in self.submissions]}
