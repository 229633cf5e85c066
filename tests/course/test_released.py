"""The student versions in assignments/: exactly the release of solutions/, with nothing given away.

assignments/ is only ever written by ``autograder release --all``. These tests release solutions/
again into a scratch folder and compare byte for byte, check that the released notebooks hold no
reference code, no hidden tests and no reference answers, and run every released notebook top to
bottom: the only errors allowed are the ``NotImplementedError`` of the unfinished solution stubs.
"""

from __future__ import annotations

import re
import sqlite3

import nbformat
import pytest

from autograder.classroom.release import release_assignment
from tests.course.notebooks import (
    API,
    GRADED,
    NAMES,
    REPO,
    SOLUTIONS,
    defined_signatures,
    execute_notebook,
    nbgrader_meta,
)
from tests.course.rubrics import manual_cells, rubric

ASSIGNMENTS = REPO / "assignments"
STUB = "raise NotImplementedError()"
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def released_path(name: str):
    return ASSIGNMENTS / name / f"{name}.ipynb"


def files(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    """solutions/ released again, into a scratch folder with a scratch gradebook."""
    out = tmp_path_factory.mktemp("release")
    for name in NAMES:
        release_assignment(name, root=REPO, out_dir=out / "assignments",
                           db_url=f"sqlite:///{out / 'gradebook.db'}")
    return out / "assignments"


def test_assignments_are_exactly_the_release_of_solutions(fresh_release):
    assert sorted(p.name for p in ASSIGNMENTS.iterdir()) == sorted(NAMES)
    for name in NAMES:
        committed, fresh = files(ASSIGNMENTS / name), files(fresh_release / name)
        stale = sorted(k for k in committed.keys() | fresh.keys() if committed.get(k) != fresh.get(k))
        assert not stale, f"assignments/{name} differs from a fresh release in {stale}: run `autograder release --all`"


def secret_lines(nb) -> set[str]:
    """Lines of reference solutions, hidden tests, mark schemes and model answers in a source notebook
    that appear nowhere else in it (so they must not appear in the student version)."""
    secret, public = set(), set()
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        whole_cell_secret = cell.cell_type == "markdown" and meta.get("solution")
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if any(marker in text for marker in MARKERS):
                inside = "BEGIN" in text
                continue
            (secret if inside or whole_cell_secret else public).add(text)
    return {line for line in secret - public if len(line) > 3}


@pytest.mark.parametrize("name", NAMES)
def test_released_notebook_gives_nothing_away(name):
    source = nbformat.read(SOLUTIONS / name / f"{name}.ipynb", as_version=4)
    released = nbformat.read(released_path(name), as_version=4)
    released_lines = {line.strip() for cell in released.cells for line in cell.source.splitlines()}
    leaked = secret_lines(source) & released_lines
    assert not leaked, f"reference lines in the student version: {sorted(leaked)[:5]}"
    text = "\n".join(cell.source for cell in released.cells)
    assert not [m for m in MARKERS if m in text]
    def grade_ids(nb):
        return [nbgrader_meta(c).get("grade_id") for c in nb.cells]

    assert grade_ids(released) == grade_ids(source)
    for cell in released.cells:
        meta = nbgrader_meta(cell)
        assert cell.cell_type != "code" or not cell.outputs
        if meta.get("solution") and cell.cell_type == "code":
            assert STUB in cell.source, meta["grade_id"]
        if meta.get("solution") and cell.cell_type == "markdown":
            assert cell.source == "YOUR ANSWER HERE", meta["grade_id"]
        if meta.get("locked") or meta.get("grade"):
            assert meta.get("checksum"), f"{meta['grade_id']}: nbgrader restores locked cells by checksum"


def test_the_gradebook_of_a_release_holds_no_rubric(fresh_release):
    """The release records each cell in nbgrader's gradebook (source_cell): with the released text only."""
    criteria = {text for name in GRADED for cell in manual_cells(name) for text in rubric(cell)}
    with sqlite3.connect(fresh_release.parent / "gradebook.db") as db:
        stored = [row[0] or "" for row in db.execute("SELECT source FROM source_cell")]
    assert stored and criteria
    assert not [c for c in criteria if any(c in source for source in stored)]
    assert not [s for s in stored if "MARK SCHEME" in s]


@pytest.mark.parametrize("name", GRADED)
def test_released_stubs_keep_the_graded_signatures(name):
    released = nbformat.read(released_path(name), as_version=4)
    stubs = defined_signatures(c for c in released.cells if nbgrader_meta(c).get("solution"))
    assert {api: stubs.get(api, (None,))[0] for api in API[name]} == API[name]


@pytest.mark.parametrize("name", NAMES)
def test_released_notebook_fails_only_in_its_stubs(name, data_env, tmp_path):
    run = execute_notebook(released_path(name), tmp_path / name, data_env, allow_errors=True)
    errors = [(nbgrader_meta(cell).get("grade_id"), out) for cell in run.nb.cells
              for out in cell.get("outputs", []) if out.output_type == "error"]
    assert [(gid, out.ename) for gid, out in errors if out.ename != "NotImplementedError"] == []
    for gid, out in errors:  # raised by a stub, not by a NotImplementedError somewhere else
        assert STUB in ANSI.sub("", "\n".join(out.traceback)), gid
    if name in GRADED:
        assert errors, "a released assignment with nothing left to do"
    else:
        assert (run.workdir / "predictions.csv").is_file(), "the starter runs completely and writes its predictions"
