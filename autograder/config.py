"""The course's nbgrader configuration (``nbgrader_config.py`` at the course root)."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.errors import UserError


def load_course_config(root: Path) -> Config:
    """Load ``nbgrader_config.py`` from the course root."""
    config_file = root / "nbgrader_config.py"
    if not config_file.is_file():
        raise UserError(f"no nbgrader_config.py in {root}; run inside the course repository")
    config = PyFileConfigLoader(config_file.name, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config
