"""Faster reference notebooks for tests that look only at the autograded checks.

xor's manually graded experiment (``hidden_units_experiment``: 15 trainings) is half of the
notebook's run time and no hidden check reads what it prints; tests that grade many xor
notebooks for their autograded scores replace it with ``pass``. The full reference still runs
in tests/checks/test_assignments.py and tests/course/test_solutions.py.
"""

from __future__ import annotations

MANUAL_EXPERIMENTS = {"hidden_units_experiment"}


def without_manual_experiments(nb):
    """``nb`` (an nbformat notebook, changed in place and returned) with each manually graded
    experiment's code replaced by ``pass``."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in MANUAL_EXPERIMENTS:
            cell.source = "pass  # the manually graded experiment: not what this test looks at"
    return nb
