"""Grade an assignment written the usual nbgrader way (test cells holding plain ``assert``s,
visible and ``### BEGIN HIDDEN TESTS``) - sandboxed, and to the scores stock nbgrader gives.

Like ``nbgrader autograde``: outputs are cleared, locked and test cells get the instructor's
source back (from the reference notebook, hidden tests included; points from the released
notebook), the notebook runs once, and a test cell earns its points when it ran without an
error (a numeric result gives partial credit). Unlike it: the run happens in the sandbox
(:mod:`autograder.sandbox`), a cell that only writes to stderr keeps its points (nbgrader PR
#1904), and the executed notebook handed back holds neither the hidden tests (released source
restored) nor a traceback that could quote them. The verdict still comes from the student's
kernel - nbgrader-style tests cannot be moved out of it; assignments with hidden checks
(:mod:`autograder.checks`) are graded by the trusted engine instead.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import nbformat

from autograder.classroom.redact import Redactor, hidden_lines
from autograder.sandbox.limits import Limits

MESSAGE_LIMIT = 500


def error_result(student: str, notebook: str, message: str, max_score: float = 0.0) -> dict:
    """A result for a submission that could not be graded at all."""
    return {"student": student, "notebook": notebook, "status": "error", "score": 0.0,
            "max_score": max_score, "checks": [], "error": message}


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_test(info: dict) -> bool:
    return bool(info.get("grade")) and not info.get("solution")


def prepare_run(student_nb, source_nb, released_nb):
    """The notebook to execute: the student's, with every locked cell's instructor source back."""
    instructor = {_grade_id(c): c for c in source_nb.cells if _grade_id(c)}
    released = {_grade_id(c): c for c in released_nb.cells if _grade_id(c)}
    seen = set()
    for cell in student_nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        grade_id = _grade_id(cell)
        if grade_id is None:
            continue
        if grade_id in seen or grade_id not in released:  # duplicated or invented ids count for nothing
            del cell.metadata["nbgrader"]
            continue
        seen.add(grade_id)
        info = released[grade_id].metadata["nbgrader"]
        if info.get("locked") and not info.get("solution"):
            _restore(cell, instructor.get(grade_id, released[grade_id]))
        cell.metadata["nbgrader"] = dict(info)
    return student_nb


def _restore(cell, reference) -> None:
    if cell.cell_type != reference.cell_type:
        cell.cell_type = reference.cell_type
        if reference.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    cell.source = reference.source


def _numeric(output) -> float | None:
    try:
        value = output.get("data", {}).get("text/plain")
        return float("".join(value) if isinstance(value, list) else value)
    except (TypeError, ValueError):
        return None


def score_cells(nb, released_nb, report, redactor: Redactor) -> list[dict]:
    """One check per test cell of the released notebook, scored the way nbgrader scores it."""
    by_id = {_grade_id(c): (i, c) for i, c in enumerate(nb.cells) if _grade_id(c)}
    checks = []
    for ref in released_nb.cells:
        info = ref.metadata.get("nbgrader", {})
        if ref.cell_type != "code" or not _is_test(info):
            continue
        name, limit = info["grade_id"], float(info.get("points", 0))
        check = {"name": name, "cell": name, "points": 0.0, "max_points": limit, "outcome": "passed",
                 "message": ""}
        found = by_id.get(name)
        if found is None:
            check.update(outcome="error", message="this test cell is missing from the submission")
        else:
            index, cell = found
            check.update(_cell_verdict(index, cell, limit, report, redactor))
        checks.append(check)
    return checks


def _cell_verdict(index: int, cell, limit: float, report, redactor: Redactor) -> dict:
    if index in report.timed_out_cells:
        return {"outcome": "timeout", "message": "the cell exceeded its time limit"}
    if cell.get("execution_count") is None:
        return {"outcome": "error", "message": report.error or "the cell did not run"}
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            ename = str(output.get("ename", "Error"))
            evalue = str(output.get("evalue", "")).strip()
            text = redactor.text(f"{ename}: {evalue}" if evalue else ename)[:MESSAGE_LIMIT]
            return {"outcome": "failed" if ename == "AssertionError" else "error", "message": text}
        if output.get("output_type") == "execute_result":
            value = _numeric(output)
            if value is not None:  # a value that is not a finite number earns 0
                points = min(max(value, 0.0), limit) if math.isfinite(value) else 0.0
                return {"points": points, "outcome": "passed" if points == limit else "failed",
                        "message": "" if points == limit else f"partial credit: {points:g} of {limit:g}"}
    return {"points": limit}


def _public_copy(nb, released_nb, redactor: Redactor):
    """The executed notebook with released sources in test cells and no traceback text."""
    released = {_grade_id(c): c for c in released_nb.cells if _grade_id(c)}
    for cell in nb.cells:
        grade_id = _grade_id(cell)
        if grade_id in released and cell.metadata["nbgrader"].get("locked"):
            cell.source = released[grade_id].source
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', '')}: {output.get('evalue', '')}"]
            redactor.outputs(cell.get("outputs", []))
    return nb


def assignment_files(release_folder: Path) -> list:
    """What the assignment gives students besides the notebooks (bound read-only in the sandbox)."""
    from autograder.sandbox.launcher import Mount

    return [Mount(p, p.name) for p in sorted(release_folder.iterdir())
            if p.suffix != ".ipynb" and not p.name.startswith(".")]


def grade_legacy(course, assignment: str, student: str, notebook: str, data: bytes, seed=None,
                 limits: Limits | None = None, secure: bool = True) -> tuple[dict, str | None]:
    """Grade one nbgrader-style submission; return (result dict, executed notebook JSON)."""
    from autograder.sandbox.execute import execute_notebook
    from autograder.sandbox.kernel import SandboxKernel

    released_path = course.released_notebooks(assignment).get(notebook)
    source_path = course.source_notebooks(assignment).get(notebook)
    if released_path is None or source_path is None:
        return error_result(student, notebook, f"{notebook}.ipynb is not a notebook of {assignment}"), None
    released_nb = nbformat.read(released_path, as_version=4)
    max_score = sum(float(c.metadata["nbgrader"].get("points", 0)) for c in released_nb.cells
                    if c.cell_type == "code" and _is_test(c.metadata.get("nbgrader", {})))
    try:
        student_nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        if not isinstance(student_nb.get("cells"), list):
            raise ValueError("no cells")
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the submission's fault
        return error_result(student, notebook, f"not a readable notebook ({type(exc).__name__})", max_score), None
    redactor = Redactor(hidden_lines(assignment, [source_path], [released_path]))
    nb = prepare_run(student_nb, nbformat.read(source_path, as_version=4), released_nb)
    limits = limits or Limits()
    try:
        with SandboxKernel(limits, assignment_files(released_path.parent), secure=secure) as kernel:
            report = execute_notebook(kernel, nb)
    except Exception as exc:  # noqa: BLE001 - a sandbox that cannot start fails this submission only
        return error_result(student, notebook, f"the sandbox failed: {exc}"[:MESSAGE_LIMIT], max_score), None
    checks = score_cells(nb, released_nb, report, redactor)
    result = {"student": student, "notebook": notebook, "status": "graded",
              "score": sum(c["points"] for c in checks), "max_score": max_score, "checks": checks,
              "seed": seed}
    executed = _public_copy(nb, released_nb, redactor)
    return result, json.dumps(executed)
