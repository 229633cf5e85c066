"""Points come from one source: the nbgrader ``points`` of the solution notebook's autograder
test cells. A hidden check names the cell it scores (``@check(cell, weight=1)``); the cell's
points are shared between its checks in proportion to their weights.

A disagreement is an error, at release (:func:`autograder.grading.plugin.verify_points`) and at
grade time: a cell with points that no check scores, a check naming a cell that has no points,
or a released notebook whose points are not the solution's.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.errors import UserError


def autograded_points(nb) -> dict[str, float]:
    """grade_id -> points of the notebook's autograder test cells (graded code cells that are not
    solution cells; written answers are graded by hand). Cells without a grade_id are left to
    nbgrader's validation."""
    points = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution") and grade_id:
            points[str(grade_id)] = float(meta.get("points") or 0)
    return points


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


def share_points(marks: dict[str, tuple[str, float]],
                 cell_points: dict[str, float]) -> tuple[dict[str, float], list[str]]:
    """Each check's points from ``marks`` (check id -> (cell, weight)) and the cells' points:
    (check id -> points, the disagreements, each naming the cell and both numbers)."""
    weights: dict[str, list[float]] = {}
    for cell, weight in marks.values():
        weights.setdefault(cell, []).append(weight)
    problems = []
    for cell in sorted(weights.keys() | cell_points.keys()):
        points, checks = cell_points.get(cell, 0.0), len(weights.get(cell, ()))
        if points > 0 and not checks:
            problems.append(f"cell {cell!r} has {_points(points)} in the solution notebook, but no check scores it")
        elif checks and points <= 0:
            problems.append(f"cell {cell!r} has {_points(points)} in the solution notebook (no autograder test "
                            f"cell with points has that grade_id), but {checks} check(s) score it")
    shares = {check: cell_points.get(cell, 0.0) * weight / sum(weights[cell])
              for check, (cell, weight) in marks.items()}
    return shares, problems


def graded_points(solution: Path, released) -> dict[str, float]:
    """The points of the solution notebook's autograder test cells; a UserError naming the cell
    and both numbers when the released notebook (what students see, and the gradebook's maximum)
    gives a cell other points."""
    points = autograded_points(nbformat.read(solution, as_version=4))
    shown = autograded_points(released)
    for cell in sorted(points.keys() | shown.keys()):
        if points.get(cell, 0.0) != shown.get(cell, 0.0):
            raise UserError(f"cell {cell!r} has {_points(points.get(cell, 0.0))} in {solution} but "
                            f"{_points(shown.get(cell, 0.0))} in the released notebook; release it again")
    return points
