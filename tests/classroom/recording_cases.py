"""Structural tampering of a student notebook, honest and hostile, for the recording tests.

Each case takes an honest (answered) notebook as a JSON dict and returns the changed one plus
the test cells it costs: the grade_ids that must score 0 (their cell was deleted, retyped or
garbled); every other test cell keeps exactly what the honest notebook earns. ``mutations`` is
a hypothesis strategy of random structural mutations (duplicated, deleted and reordered cells,
random nbgrader metadata of random cells, cells added by the student, cells with garbage
fields, values that are not cells at all).
"""

from __future__ import annotations

import copy
import json
import math

import nbformat
from hypothesis import strategies as st


def info(cell) -> dict:
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    found = meta.get("nbgrader") if isinstance(meta, dict) else None
    return found if isinstance(found, dict) else {}


def autograded_cells(nb: dict) -> list[str]:
    """grade_ids of the autograded (code, grade, not solution) cells, in order."""
    return [info(c)["grade_id"] for c in nb["cells"]
            if c.get("cell_type") == "code" and info(c).get("grade") and not info(c).get("solution")]


def _index(nb: dict, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb["cells"]) if info(c).get("grade_id") == grade_id)


def pasted_test_cells(nb):
    """An honest student copy-pasted every test cell (the copy keeps its metadata)."""
    for grade_id in autograded_cells(nb):
        i = _index(nb, grade_id)
        nb["cells"].insert(i + 1, copy.deepcopy(nb["cells"][i]))
    return nb, set()


def pasted_solution_cells(nb):
    """Every solution cell pasted once more right after itself."""
    cells = []
    for cell in nb["cells"]:
        cells.append(cell)
        if info(cell).get("solution") and cell.get("cell_type") == "code":
            cells.append(copy.deepcopy(cell))
    nb["cells"] = cells
    return nb, set()


def retyped_grade_id(nb):
    """The first test cell's grade_id edited by the student."""
    first = autograded_cells(nb)[0]
    info(nb["cells"][_index(nb, first)])["grade_id"] = first + "_mine"
    return nb, {first}


def added_grade_cells(nb):
    """Grade cells the student made: a new id with 1000 points, and a copy of a real test id."""
    fake = nbformat.v4.new_code_cell("1000")
    fake.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "points": 1000, "locked": False,
                                 "solution": False, "schema_version": 3}
    fake.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1000"}, execution_count=1)]
    nb["cells"].insert(0, json.loads(json.dumps(fake)))
    second = copy.deepcopy(fake)
    second.metadata.nbgrader.grade_id = autograded_cells(nb)[-1]
    nb["cells"].append(json.loads(json.dumps(second)))
    return nb, set()


def solutions_made_grade_cells(nb):
    """Every code solution cell turned into a 99-point grade cell."""
    for cell in nb["cells"]:
        if info(cell).get("solution") and cell.get("cell_type") == "code":
            info(cell).update(grade=True, points=99)
    return nb, set()


def odd_points(nb):
    """Points as text, negative, huge, not a number."""
    odd = ["100", -5, 1e308, math.nan, None]  # as many graded cells as there are, up to five
    for cell, points in zip((c for c in nb["cells"] if info(c).get("grade")), odd, strict=False):
        info(cell)["points"] = points
    return nb, set()


def odd_schema(nb):
    """schema_version missing, of another version, text, garbage."""
    for n, cell in enumerate(c for c in nb["cells"] if info(c)):
        choice = n % 4
        if choice == 0:
            info(cell).pop("schema_version", None)
        else:
            info(cell)["schema_version"] = [1, "3", {"x": 1}][choice - 1]
    return nb, set()


def garbled_metadata(nb):
    """The last test cell's nbgrader metadata replaced by a string."""
    last = autograded_cells(nb)[-1]
    nb["cells"][_index(nb, last)]["metadata"]["nbgrader"] = "garbage"
    return nb, {last}


def deleted_test_cell(nb):
    """The first test cell deleted."""
    first = autograded_cells(nb)[0]
    del nb["cells"][_index(nb, first)]
    return nb, {first}


def moved_markdown(nb):
    """Every markdown cell moved to the end, in reverse order."""
    markdown = [c for c in nb["cells"] if c.get("cell_type") == "markdown"]
    nb["cells"] = [c for c in nb["cells"] if c.get("cell_type") != "markdown"] + markdown[::-1]
    return nb, set()


def garbage_cells(nb):
    """Cells that are barely cells: unknown type, source a number, metadata a list, outputs junk,
    repeated and invalid cell ids."""
    nb["cells"].insert(1, {"cell_type": "weird", "source": 5, "metadata": [], "outputs": 7})
    nb["cells"].append({"cell_type": "code", "source": ["x = ", 1], "metadata": {"nbgrader": None},
                        "outputs": [5, {"output_type": "stream", "text": ["a", 3]}, {"output_type": "nope"}],
                        "execution_count": "one", "id": "not a valid id!"})
    for cell in nb["cells"]:
        if isinstance(cell, dict):
            cell["id"] = "same"
    return nb, set()


CASES = {f.__name__: f for f in (pasted_test_cells, pasted_solution_cells, retyped_grade_id, added_grade_cells,
                                 solutions_made_grade_cells, odd_points, odd_schema, garbled_metadata,
                                 deleted_test_cell, moved_markdown, garbage_cells)}


def apply_case(honest: nbformat.NotebookNode, name: str) -> tuple[bytes, set[str]]:
    """The honest notebook changed by case ``name``: (file bytes, test cells that must score 0)."""
    nb, zeroed = CASES[name](json.loads(nbformat.writes(honest)))
    return json.dumps(nb).encode(), zeroed


# --- random mutations (hypothesis) ---------------------------------------------------------------

GARBAGE = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=6), st.lists(st.integers(), max_size=2),
                    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
KEYS = st.sampled_from(["grade_id", "grade", "solution", "locked", "task", "points", "schema_version",
                        "checksum", "cell_type"])


def mutations(grade_ids: list[str]):
    """A list of random structural mutations; ``grade_ids`` are the released ones (students
    often reuse them)."""
    value = st.one_of(GARBAGE, st.sampled_from(grade_ids))
    index = st.integers(0, 10**6)
    one = st.one_of(
        st.tuples(st.just("duplicate"), index, index),
        st.tuples(st.just("delete"), index),
        st.tuples(st.just("swap"), index, index),
        st.tuples(st.just("set"), index, KEYS, value),
        st.tuples(st.just("unset"), index, KEYS),
        st.tuples(st.just("replace_nbgrader"), index, GARBAGE),
        st.tuples(st.just("drop_nbgrader"), index),
        st.tuples(st.just("add_grade_cell"), index, value, GARBAGE),
        st.tuples(st.just("cell_type"), index, st.sampled_from(["code", "markdown", "raw", "other", 3])),
        st.tuples(st.just("garble"), index, st.sampled_from(["source", "metadata", "outputs", "execution_count",
                                                             "id", "attachments"]),
                  st.one_of(GARBAGE, st.lists(GARBAGE, max_size=3))),
        st.tuples(st.just("not_a_cell"), index, GARBAGE),
    )
    return st.lists(one, min_size=1, max_size=8)


def mutate(nb: dict, steps) -> dict:
    """Apply hypothesis-drawn ``steps`` to a notebook's JSON dict (in place) and return it."""
    cells = nb["cells"]
    for step in steps:
        if not cells:
            break
        kind, i = step[0], step[1] % len(cells)
        cell = cells[i]
        if not isinstance(cell, dict):
            continue
        if kind == "duplicate":
            cells.insert(step[2] % (len(cells) + 1), copy.deepcopy(cell))
        elif kind == "delete":
            del cells[i]
        elif kind == "swap":
            j = step[2] % len(cells)
            cells[i], cells[j] = cells[j], cells[i]
        elif kind in ("set", "unset", "replace_nbgrader", "drop_nbgrader"):
            meta = cell.setdefault("metadata", {})
            if not isinstance(meta, dict):
                continue
            if kind == "replace_nbgrader":
                meta["nbgrader"] = step[2]
            elif kind == "drop_nbgrader":
                meta.pop("nbgrader", None)
            elif isinstance(meta.setdefault("nbgrader", {}), dict):
                if kind == "set":
                    meta["nbgrader"][step[2]] = step[3]
                else:
                    meta["nbgrader"].pop(step[2], None)
        elif kind == "add_grade_cell":
            cells.insert(i, {"cell_type": "code", "source": "1000", "execution_count": None, "outputs": [],
                             "metadata": {"nbgrader": {"grade": True, "solution": False, "locked": False,
                                                       "grade_id": step[2], "points": step[3],
                                                       "schema_version": 3}}})
        elif kind == "cell_type":
            cell["cell_type"] = step[2]
        elif kind == "garble":
            cell[step[2]] = step[3]
        elif kind == "not_a_cell":
            cells.insert(i, step[2])
    return nb


def surviving_tests(nb: dict, released_tests: list[str]) -> set[str]:
    """The released test cells a mutated notebook still names with valid metadata (an upper bound
    on the cells that can earn points: a cell that lost its grade_id earns nothing)."""
    named = [info(c).get("grade_id") for c in nb["cells"]]
    return {g for g in released_tests if g in named}
