"""A tiny test-only assignment (numpy only, three 1-point cells) for fast sandbox and hostile tests.

``make_course(root)`` writes a course folder holding ``solutions/tiny/tiny.ipynb`` (with
nbgrader solution markers), ``assignments/tiny/tiny.ipynb`` (released: stubs), a fake gradebook
and fake instructor data full of a secret marker. ``tiny_spec(...)`` is its AssignmentSpec,
read from ``tests/courses/tiny_checks`` (its checks and assignment.toml).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nbformat

from autograder.grading.assignments import AssignmentSpec, get_assignment

HERE = Path(__file__).resolve().parent
TINY_CHECKS = HERE / "tiny_checks"  # its hidden checks and assignment.toml
SECRET = "TOP-SECRET-7f3a9c"  # written into every instructor-only file of the tiny course

SETUP = "import numpy as np\nimport sys"
ADD = "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION"
SCALE = ("def scale(x, k):\n    ### BEGIN SOLUTION\n    return np.asarray(x, dtype=np.float64) * k\n"
         "    ### END SOLUTION")
COUNTER = ("class Counter:\n    def __init__(self, start=0):\n        ### BEGIN SOLUTION\n        self.value = start\n"
           "        self.seen = [start]\n        ### END SOLUTION\n\n    def bump(self, n=1):\n"
           "        ### BEGIN SOLUTION\n        self.value += n\n        self.seen.append(self.value)\n"
           "        return self.value\n        ### END SOLUTION\n\n    def history(self):\n"
           "        ### BEGIN SOLUTION\n        return iter(self.seen)\n        ### END SOLUTION")
TESTS = {
    "test_add": "assert add(1, 2) == 3\nprint('add: visible test passed')",
    "test_scale": "assert np.allclose(scale([1.0, 2.0], 3), [3.0, 6.0])",
    "test_counter": "c = Counter(2)\nassert c.bump() == 3 and c.bump(4) == 7",
}


def _meta(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def code(source: str, **meta):
    """A code cell; ``meta`` (grade_id=..., solution/grade/locked/points) adds nbgrader metadata."""
    cell = nbformat.v4.new_code_cell(source)
    if meta:
        cell.metadata = _meta(**meta)
    return cell


def tiny_cells(add=ADD, scale=SCALE, counter=COUNTER, before=(), after=(), tests=None):
    """The cells of a tiny notebook; ``before``/``after`` are extra code sources around the answers."""
    tests = {**TESTS, **(tests or {})}
    cells = [code(SETUP, grade_id="setup", locked=True)]
    cells += [code(src) for src in before]
    for name, source in (("add", add), ("scale", scale), ("counter", counter)):
        cells.append(code(source, grade_id=f"tiny_{name}", solution=True))
        cells.append(code(tests[f"test_{name}"], grade_id=f"test_{name}", grade=True, locked=True, points=1))
    cells += [code(src) for src in after]
    return cells


def notebook_bytes(cells) -> bytes:
    """A notebook file's bytes."""
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.writes(nb).encode()


def _released(source: str) -> str:
    """nbgrader's ClearSolutions in miniature: a stub replaces each solution block."""
    out, skipping = [], False
    for line in source.splitlines():
        if "### BEGIN SOLUTION" in line:
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + "# YOUR CODE HERE", indent + "raise NotImplementedError()"]
            skipping = True
        elif "### END SOLUTION" in line:
            skipping = False
        elif not skipping:
            out.append(line)
    return "\n".join(out)


def released_cells():
    """The blank (released) tiny notebook's cells."""
    cells = tiny_cells()
    for cell in cells:
        cell.source = _released(cell.source)
    return cells


def make_course(root: Path) -> Path:
    """Write the tiny course into ``root`` and return it."""
    for folder, cells in (("solutions", tiny_cells()), ("assignments", released_cells())):
        target = root / folder / "tiny"
        target.mkdir(parents=True)
        (target / "tiny.ipynb").write_bytes(notebook_bytes(cells))
    (root / "gradebook.db").write_text(f"hidden tests: {SECRET}\n")
    (root / "data" / "instructor").mkdir(parents=True)
    (root / "data" / "instructor" / "homework_heldout.npz").write_text(SECRET)
    (root / "submitted" / "someone" / "tiny").mkdir(parents=True)
    (root / "submitted" / "someone" / "tiny" / "tiny.ipynb").write_text(SECRET)
    return root


def tiny_spec(**limit_changes) -> AssignmentSpec:
    """The tiny assignment (short limits, in ``tiny_checks/assignment.toml``), some limits changed."""
    spec = get_assignment("tiny", checks=TINY_CHECKS)
    return dataclasses.replace(spec, limits=spec.limits.with_(**limit_changes))
