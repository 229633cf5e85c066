"""What a student is told about a graded attempt, split into what they may see at once and what
waits for the instructor.

*Visible*: the notebook's own test cells (the released ones, put back before the run) as they ran
in the sandbox, passed or with their error, the other cells' errors, and the run time; all of it
is text the student's kernel produced, capped and later shown escaped. *Hidden*: the hidden checks'
points and messages (:class:`~autograder.grading.results.SubmissionResult`), held back until the
instructor releases them.
"""

from __future__ import annotations

import json

from autograder.grading.results import SubmissionResult

MAX_TEXT = 2000  # characters kept of one cell's output or error
MAX_CELL_ERRORS = 20


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " [...]"


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
    return meta if isinstance(meta, dict) else {}


def visible_test_ids(released) -> list[str]:
    """The grade_ids of the released notebook's test cells (code cells worth points, not answers)."""
    return [_nbgrader(c)["grade_id"] for c in released.cells
            if c.get("cell_type") == "code" and _nbgrader(c).get("grade") and not _nbgrader(c).get("solution")
            and _nbgrader(c).get("grade_id")]


def _error_of(cell) -> str | None:
    for output in cell.get("outputs") or []:
        if isinstance(output, dict) and output.get("output_type") == "error":
            return _clip(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
    return None


def _text_of(cell) -> str:
    parts = []
    for output in cell.get("outputs") or []:
        if isinstance(output, dict) and output.get("output_type") == "stream":
            text = output.get("text", "")
            parts.append(text if isinstance(text, str) else "".join(map(str, text)))
    return _clip("".join(parts))


def visible_feedback(executed: str | None, released, result: SubmissionResult) -> dict:
    """The visible part: ``tests`` (grade_id, passed, error, output), ``cell_errors``, ``error``
    (why the notebook could not run, if so) and ``seconds`` (its run time)."""
    cells = json.loads(executed).get("cells", []) if executed else []
    by_id = {_nbgrader(c).get("grade_id"): c for c in cells if _nbgrader(c).get("grade_id")}
    tests = []
    for grade_id in visible_test_ids(released):
        cell = by_id.get(grade_id)
        ran = cell is not None and cell.get("execution_count") is not None
        error = _error_of(cell) if cell is not None else None
        tests.append({"cell": grade_id, "passed": ran and error is None,
                      "error": error or (None if ran else "did not run"), "output": _text_of(cell) if cell else ""})
    tested = set(visible_test_ids(released))
    cell_errors = [{"index": index, "cell": _nbgrader(cell).get("grade_id"), "error": _error_of(cell)}
                   for index, cell in enumerate(cells)
                   if cell.get("cell_type") == "code" and _nbgrader(cell).get("grade_id") not in tested
                   and _error_of(cell) is not None][:MAX_CELL_ERRORS]
    return {"tests": tests, "cell_errors": cell_errors, "error": result.error,
            "seconds": round(result.timings.get("execute", 0.0), 3)}


def hidden_feedback(result: SubmissionResult) -> dict:
    """The hidden part: the score and each hidden check's points, outcome and message."""
    return {"score": result.score, "max_score": result.max_score,
            "checks": [{"name": c.name, "cell": c.cell, "points": c.points, "max_points": c.max_points,
                        "outcome": c.outcome, "message": _clip(c.message)} for c in result.checks]}
