"""Every manually graded cell has a rubric whose points add up to the cell's, and no rubric
reaches what students get (assignments/); the release's gradebook is checked in test_released.py."""

from __future__ import annotations

import nbformat
import pytest

from tests.course.notebooks import GRADED, REPO, nbgrader_meta
from tests.course.rubrics import manual_cells, rubric


@pytest.mark.parametrize("name", GRADED)
def test_every_manually_graded_cell_has_a_rubric_that_adds_up_to_its_points(name):
    cells = manual_cells(name)
    assert cells, f"{name} has no manually graded cell"
    for cell in cells:
        meta = nbgrader_meta(cell)
        assert cell.source.count("=== BEGIN MARK SCHEME ===") == cell.source.count("=== END MARK SCHEME ===") == 1, \
            meta["grade_id"]
        criteria = rubric(cell)
        assert len(criteria) >= 1, f"{meta['grade_id']}: no criteria in its mark scheme"
        assert all(points > 0 for points in criteria.values()), meta["grade_id"]
        assert sum(criteria.values()) == pytest.approx(meta["points"]), \
            f"{meta['grade_id']}: rubric gives {sum(criteria.values())} points, the cell {meta['points']}"


def test_rubric_parser_reads_points_and_ignores_the_header():
    cell = nbformat.v4.new_markdown_cell("answer\n=== BEGIN MARK SCHEME ===\n| criterion | points |\n|---|---|\n"
                                         "| says A | 1 |\n| says B | 0.5 |\n=== END MARK SCHEME ===\n| outside | 7 |")
    assert rubric(cell) == {}  # no grade_id: no graded cell to show it beside
    cell.metadata["nbgrader"] = {"grade_id": "q1", "grade": True, "solution": True, "points": 1.5}
    assert rubric(cell) == {"says A": 1.0, "says B": 0.5}


def test_no_rubric_text_reaches_the_release():
    criteria = {text for name in GRADED for cell in manual_cells(name) for text in rubric(cell)}
    assert criteria
    released = {path: path.read_text(encoding="utf-8", errors="replace")
                for path in (REPO / "assignments").rglob("*") if path.is_file() and path.suffix in (".ipynb", ".md", ".csv", ".txt", ".py")}
    assert released
    for path, text in released.items():
        assert "MARK SCHEME" not in text and "**Rubric" not in text, path
        leaked = sorted(c for c in criteria if c in text)
        assert not leaked, f"{path}: rubric criteria in the release: {leaked[:2]}"
