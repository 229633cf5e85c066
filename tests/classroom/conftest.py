"""Fixtures of the classroom tests, on the ``legacy`` course of tests/courses/legacy.py.

``released_course``  (session) the course with ``legacy`` released and no submission yet.
``graded_class``     (session) a released course with four submissions (correct, partly wrong,
                     blank, leaker) graded by our batch runner, and a copy graded by stock
                     ``nbgrader autograde``.
All are read-only: copy a course (``legacy.copy_course``) to change anything.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.courses.legacy import (
    ASSIGNMENT,
    EXPECTED,
    EXPECTED_LEAKER,
    REPO,
    grade,
    leaker,
    make_course,
    release,
    simulated_class,
    submit,
)


@pytest.fixture(scope="session")
def released_course(tmp_path_factory) -> Path:
    """A released course with no submissions yet (copy it before use)."""
    root = make_course(tmp_path_factory.mktemp("released"))
    release(root)
    return root


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory) -> SimpleNamespace:
    """``root``, ``stock``, ``report``, ``submissions`` and ``expected`` scores of the graded class."""
    root = make_course(tmp_path_factory.mktemp("class"))
    subs = simulated_class(root)
    subs["leaker"] = submit(root, "leaker", leaker(root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    stock = tmp_path_factory.mktemp("stock") / "course"
    shutil.copytree(root, stock)
    bin_dir = str(Path(sys.executable).parent)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(stock), "PYTHONPATH": str(REPO)}  # nbgrader_config.py imports this checkout
    # The stock course is released the stock way: `autograder release` keeps no hidden tests in
    # the gradebook, but stock autograde restores test cells (hidden parts included) from it.
    for step in (["generate_assignment", "--force"], ["autograde"]):
        done = subprocess.run([f"{bin_dir}/nbgrader", *step, ASSIGNMENT], cwd=stock, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    report = grade(root, seed=1234)
    return SimpleNamespace(root=root, stock=stock, report=report, submissions=subs,
                           expected={**EXPECTED, "leaker": EXPECTED_LEAKER})
