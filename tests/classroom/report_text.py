"""Reading a feedback report as its student does, and the instructor-only lines it must not show
(the feedback tests and the engine tests use these)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat

from autograder.grading.redact import hidden_blocks

REPO = Path(__file__).resolve().parents[2]


def visible_text(path: Path) -> str:
    """What a reader of the HTML sees (head, styles and scripts dropped, tags removed, entities decoded)."""
    body = path.read_text(encoding="utf-8").split("</head>", 1)[-1]
    body = re.sub(r"<(style|script)\b.*?</\1>", "", body, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", "", body))


def instructor_only_lines(course_root: Path) -> set[str]:
    """Every line of every hidden check file of the repo, and every line in a hidden-test block
    of the repo's and the test course's reference notebooks."""
    lines = set()
    for path in (REPO / "autograder" / "checks").rglob("*"):
        if path.is_file() and path.suffix == ".py":
            lines |= {x.strip() for x in path.read_text().splitlines()}
    for root in (REPO, course_root):
        for nb_path in (root / "solutions").glob("*/*.ipynb"):
            for cell in nbformat.read(nb_path, as_version=4).cells:
                lines |= {x.strip() for x in hidden_blocks(cell.source)}
    return {line for line in lines if len(line) >= 4}


def public_text(*notebooks: Path) -> str:
    """Everything students have anyway: the released notebook and their own cells."""
    return "\n".join(c.source for path in notebooks for c in nbformat.read(path, as_version=4).cells)


def leaks(report: Path, secret: set[str], released: Path, submitted: Path) -> list[str]:
    """Instructor-only lines found in a report that are not part of what the student has."""
    text, public = visible_text(report), public_text(released, submitted)
    return [line for line in secret if line in text and line not in public]
