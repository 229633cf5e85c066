"""Keep instructor-only source out of everything students get back.

The instructor-only text of an assignment is every line of its hidden check files
(``autograder/checks/<assignment>/``) and every line inside the ``### BEGIN HIDDEN TESTS`` and
mark-scheme blocks of its reference notebooks, except lines students already have (they occur
in the released notebook) and lines too short to identify anything. Any line of output,
message or traceback that contains one of them is replaced by :data:`REDACTED`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

import autograder

REDACTED = "[line removed by the grader: it quotes hidden test code]"
MIN_LENGTH = 12  # shorter lines (`pass`, `return x`, `)`) identify nothing
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
MARK_SCHEME = ("=== BEGIN MARK SCHEME ===", "=== END MARK SCHEME ===")
BLOCKS = [("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"), MARK_SCHEME]


def strip_ansi(text: str) -> str:
    """Remove terminal colour codes (IPython tracebacks are full of them)."""
    return ANSI.sub("", text)


def hidden_blocks(source: str, blocks=BLOCKS) -> list[str]:
    """The lines inside hidden-test and mark-scheme blocks (or only ``blocks``: (begin, end)
    marker pairs) of one cell's source."""
    lines, inside = [], None
    for line in source.splitlines():
        if inside is None:
            inside = next((end for begin, end in blocks if begin in line), None)
        elif inside in line:
            inside = None
        else:
            lines.append(line)
    return lines


CHECKS_ROOT = Path(autograder.__file__).resolve().parent / "checks"


def check_files(assignment: str, root: Path | None = None) -> list[Path]:
    """The hidden check files of ``assignment`` (none for nbgrader-style assignments)."""
    folder = (root or CHECKS_ROOT) / assignment
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".py", ".txt", ".json", ".csv")) \
        if folder.is_dir() else []


def _notebook_text(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(cell.source for cell in nb.cells)


def hidden_lines(assignment: str, source_notebooks: list[Path], released_notebooks: list[Path],
                 root: Path | None = None) -> set[str]:
    """The stripped instructor-only lines of ``assignment`` worth searching for."""
    candidates: list[str] = []
    for path in check_files(assignment, root):
        candidates += path.read_text(encoding="utf-8", errors="replace").splitlines()
    for path in source_notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            candidates += hidden_blocks(cell.source)
    public = {line.strip() for path in released_notebooks for line in _notebook_text(path).splitlines()}
    return {line.strip() for line in candidates
            if len(line.strip()) >= MIN_LENGTH and line.strip() not in public}


class Redactor:
    """Replace lines that quote instructor-only source."""

    def __init__(self, lines: set[str]):
        self.lines = sorted(lines, key=len, reverse=True)

    def text(self, text: str) -> str:
        """``text`` without colour codes, each line quoting hidden source replaced."""
        out = []
        for line in strip_ansi(text).split("\n"):
            out.append(REDACTED if self.quotes(line) else line)
        return "\n".join(out)

    def outputs(self, outputs: list) -> list:
        """Redact every text of a code cell's outputs, in place; return them."""
        for output in outputs or []:
            if output.get("output_type") == "stream":
                output["text"] = self.text(_joined(output.get("text", "")))
            elif output.get("output_type") == "error":
                output["evalue"] = self.text(str(output.get("evalue", "")))
                output["traceback"] = [self.text(str(line)) for line in output.get("traceback", [])]
            else:
                data = output.get("data", {})
                for mime, value in list(data.items()):
                    if isinstance(value, (str, list)) and not mime.startswith("image/"):
                        data[mime] = self.text(_joined(value))
                    elif not isinstance(value, (str, list)) and self.quotes(json.dumps(value)):
                        del data[mime]
        return outputs

    def quotes(self, text: str) -> bool:
        """True when ``text`` contains a hidden line."""
        text = strip_ansi(text)
        return any(hidden in text for hidden in self.lines)


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
