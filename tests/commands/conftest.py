"""Tests of the ``autograder`` command line (autograder/cli.py, autograder/commands/): ``grade``,
``leaderboard`` and ``data``, run in-process with ``run_cli`` or as the console script.

No fixture is shared across this folder; ``run_cli``, ``quickdraw_root`` and ``tiny_quickdraw``
come from tests/conftest.py, the legacy course from tests/courses/legacy.py.
"""
