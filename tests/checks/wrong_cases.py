"""Every assignment's reference solution, blank release and one deliberately wrong submission
(``WRONG``: the edits and the partial score they must get), graded with ``SEED`` by
test_assignments.py. The wrong submissions skip xor's manually graded experiment (no check reads
it): the solution runs it in full.

``wrong_notebook(assignment, folder)`` writes the wrong submission of one assignment.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder import paths
from autograder.grading.assignments import discover
from tests.courses.experiments import without_manual_experiments

ROOT = paths.course_root()
SEED = 424242
ASSIGNMENTS = {spec.name: spec for spec in discover()}

# assignment -> {solution cell grade_id: (text to replace, replacement)}, and the score it must get.
WRONG = {
    "xor": ({
        "make_xor_data": ("X = centres + rng.normal(0.0, noise, size=centres.shape)", "X = centres + 0.0 * noise"),
        "accuracy": ("(logits.argmax(dim=1) == y)", "(logits.argmax(dim=1) != y)"),
    }, 10.0),
    "activations": ({
        "act_relu": ("return (z > 0).to(z.dtype)", "return (z >= 0).to(z.dtype)"),
    }, 12.6),
    "mlp_scratch": ({  # db1, train_step, and params_mse (trained with the wrong gradient) are lost
        "mlp_backward": ('"db1": delta1.sum(axis=0),', '"db1": 2 * delta1.sum(axis=0),'),
    }, 16.0),
    "quickdraw_loader": ({
        "quickdraw_model": ("    return correct / count\n", "    return 100.0 * correct / count\n"),
        "inmemory_dataset": ("int(self.labels[index])", "self.labels[index]"),
    }, 15.0),
}


def wrong_notebook(assignment: str, folder: Path) -> Path:
    """The solution notebook with the edits of ``WRONG`` applied to its solution cells."""
    nb = without_manual_experiments(nbformat.read(ASSIGNMENTS[assignment].solution_notebook(ROOT), as_version=4))
    edits = dict(WRONG[assignment][0])
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in edits:
            old, new = edits.pop(grade_id)
            assert old in cell.source, f"{assignment}/{grade_id}: the solution changed, update WRONG"
            cell.source = cell.source.replace(old, new)
    assert not edits, f"cells not found: {edits}"
    path = folder / "wrong.ipynb"
    nbformat.write(nb, path)
    return path
