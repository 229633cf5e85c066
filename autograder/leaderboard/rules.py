"""The competition's rules page: the instructor's Markdown file rendered for the web app."""

from __future__ import annotations

from pathlib import Path

import mistune
from markupsafe import Markup

from autograder.paths import course_root

# Raw HTML in the file is shown as text, never run: the page keeps the app's strict CSP.
_MARKDOWN = mistune.create_markdown(escape=True, plugins=["table"])


def default_rules_path() -> Path:
    """``docs/competition-rules.md`` in the course repository."""
    return course_root() / "docs" / "competition-rules.md"


def render_rules(path: Path | None = None) -> tuple[Markup, bool]:
    """(HTML of the rules, whether the file exists); a missing file gives a short notice."""
    path = path or default_rules_path()
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return Markup("<p>The instructor has not published the competition rules yet.</p>"), False
    return Markup(_MARKDOWN(text)), True
