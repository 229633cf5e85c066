"""Markers shared by the sandbox tests."""

import os
from pathlib import Path

import pytest

from autograder.sandbox.probe import missing_protections

needs_cgroups = pytest.mark.skipif(
    bool(missing_protections()) or os.geteuid() != 0 or not Path("/sys/fs/cgroup").is_dir(),
    reason="needs the sandbox, root and a cgroup hierarchy (as the grading machine has)")
