"""Grading results, in the JSON shape ``autograder grade --json`` writes.

A :class:`SubmissionResult` is made by the engine (hidden checks or drop-in) and travels unchanged
from the worker that graded it (a local process or a Dask worker: dataclasses pickle) to the
gradebook, the ``--json`` document and the feedback report; the gradebook stores its JSON and
:meth:`SubmissionResult.from_json` reads it back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class CheckResult:
    """One hidden check: the test cell (grade_id) it scores, the points earned, why."""

    name: str
    cell: str
    points: float
    max_points: float
    outcome: str  # "passed", "failed", "error" or "timeout"
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

    @classmethod
    def from_json(cls, data: dict) -> SubmissionResult:
        """The result whose :meth:`to_json` is ``data`` (keys it does not know are ignored)."""
        known = {f.name for f in fields(cls)} - {"checks"}
        check_fields = {f.name for f in fields(CheckResult)}
        checks = [CheckResult(**{k: v for k, v in c.items() if k in check_fields}) for c in data.get("checks") or []]
        return cls(**{k: v for k, v in data.items() if k in known}, checks=checks)


def error_result(student: str, notebook: str, message: str, max_score: float = 0.0) -> SubmissionResult:
    """The result of a submission that could not be graded at all."""
    return SubmissionResult(student, notebook, "error", 0.0, max_score, error=message)


@dataclass
class Graded:
    """A graded submission and its executed notebook (None when it never ran)."""

    result: SubmissionResult
    executed: object | None


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
