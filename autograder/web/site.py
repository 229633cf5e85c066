"""What every request handler reaches through ``request.app.state.site``: the services and page settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment

from autograder.classroom.handout import CourseHandouts
from autograder.leaderboard.handins import DEFAULT_ATTEMPTS_PER_HOUR
from autograder.leaderboard.store import Leaderboard


@dataclass(frozen=True)
class Site:
    """The leaderboard served, the page templates, the live board's refresh period, the rules file and,
    on the course server, the homework handed out and the hourly limit on attempts."""

    leaderboard: Leaderboard
    templates: Environment
    refresh_seconds: float
    rules: Path | None  # Markdown shown at /rules (None: docs/competition-rules.md of the course)
    handouts: CourseHandouts | None = None  # the released assignments (None: the competition alone)
    attempts_per_hour: int = DEFAULT_ATTEMPTS_PER_HOUR  # homework attempts a student may hand in per hour

    @property
    def student_home(self) -> str:
        """Where a student lands after logging in."""
        return "/assignments" if self.handouts is not None else "/submit"
