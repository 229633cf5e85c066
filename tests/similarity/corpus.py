"""The test class for the similarity report: six independent solutions of the activations
assignment (students.py), planted copies of one of them, and an untouched template.

Planted (each pair among ada and her copies, and ben_took with each of them): a verbatim copy, one
with its variables renamed, one with its functions reordered, one with other comments and
docstrings, one with dead code added, and ben's own solution with ada's sigmoid taken over.
"""

from __future__ import annotations

import copy
import itertools
import re
from pathlib import Path

import nbformat

from autograder import paths
from tests.similarity import students

ASSIGNMENT = "activations"
SOURCE = "ada"
PLACEHOLDER = re.compile(r"^( *)# YOUR CODE HERE\n\1raise NotImplementedError\(\)$", re.M)
DEF = re.compile(r"^ *def (\w+)\(", re.M)
RENAMES = {"out": "result_tensor", "pos": "is_positive", "ez": "exp_neg", "e": "expo", "s": "sig_val",
           "t": "tanh_val", "neg": "negative_branch", "ones": "unit", "dz": "d_input", "dalpha": "d_slope"}


def released_notebook():
    """The released activations notebook of this repository."""
    return nbformat.read(paths.course_root() / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


def _fill_cell(source: str, bodies: dict) -> str:
    """Each function's placeholder in a released cell replaced by the student's body."""
    pieces, last = [], 0
    for match in PLACEHOLDER.finditer(source):
        name = DEF.findall(source[:match.start()])[-1]
        indent = match.group(1)
        body = "\n".join(indent + line if line else "" for line in bodies[name].strip("\n").splitlines())
        pieces += [source[last:match.start()], body]
        last = match.end()
    return "".join(pieces) + source[last:]


def solved(bodies: dict, edit_code=lambda grade_id, text: text):
    """The released notebook with ``bodies`` filled in; ``edit_code`` changes each code cell after."""
    nb = released_notebook()
    for cell in nb.cells:
        info = cell.metadata.get("nbgrader", {})
        grade_id = info.get("grade_id")
        if not info.get("solution"):
            continue
        if cell.cell_type == "markdown":
            cell.source = bodies[grade_id]
        else:
            text = bodies.get(f"_prefix_{grade_id}", "") + _fill_cell(cell.source, bodies)
            cell.source = edit_code(grade_id, text)
    return nb


def _renamed(grade_id: str, text: str) -> str:
    return re.sub(r"\b(\w+)\b(?!\s*=\s*[0-9.]+\))", lambda m: RENAMES.get(m.group(1), m.group(1)), text)


def _reordered(grade_id: str, text: str) -> str:
    return "\n\n\n".join(reversed(text.split("\n\n\n")))


def _recommented(grade_id: str, text: str) -> str:
    text = re.sub(r'"""[^"]*"""', '"""See the assignment text."""', text)
    return re.sub(r"^( *)return ", r"\1# hand back the result to the caller\n\1return ", text, flags=re.M)


def _dead_code(grade_id: str, text: str) -> str:
    text = re.sub(r"^( *)return ", r"\1unused_counter = 0\n\1if unused_counter > 1:\n\1    print('debug')\n\1return ",
                  text, flags=re.M)
    return text + "\n\n\ndef _never_called(values):\n    total = 0\n    for v in values:\n        total += v\n    return total\n"


def _took_sigmoid() -> dict:
    bodies = dict(students.B)
    bodies["sigmoid"] = students.A["sigmoid"]
    return bodies


def corpus() -> dict[str, nbformat.NotebookNode]:
    """Student -> notebook of the whole test class."""
    notebooks = {name: solved(bodies) for name, bodies in students.INDEPENDENT.items() if name != "ben"}
    notebooks["ben_took"] = solved(_took_sigmoid())
    notebooks["copy_verbatim"] = copy.deepcopy(notebooks[SOURCE])
    for name, edit in (("copy_renamed", _renamed), ("copy_reordered", _reordered),
                       ("copy_comments", _recommented), ("copy_deadcode", _dead_code)):
        notebooks[name] = solved(students.A, edit)
    notebooks["template_only"] = released_notebook()
    return notebooks


def planted_pairs() -> set[frozenset[str]]:
    """The pairs that are copies: ada's family among itself, and ben_took with each of it."""
    family = [SOURCE, "copy_verbatim", "copy_renamed", "copy_reordered", "copy_comments", "copy_deadcode"]
    pairs = {frozenset(p) for p in itertools.combinations(family, 2)}
    return pairs | {frozenset(("ben_took", member)) for member in family}


def write_submitted(root: Path, notebooks: dict) -> list[Path]:
    """nbgrader's ``submitted/<student>/activations/activations.ipynb`` layout under ``root``."""
    written = []
    for student, nb in notebooks.items():
        path = root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        written.append(path)
    return written
