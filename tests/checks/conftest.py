"""Tests of the graded assignments' hidden checks (autograder/checks/): every assignment graded
end to end, the fooling submissions (fooling_cases.py), and the rules the checks build on.

No fixture is shared across this folder: each module's graded batch (module scope) sits beside the
table of cases it grades. ``quickdraw_root`` comes from tests/conftest.py.
"""
