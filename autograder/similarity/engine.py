"""Dolos, the similarity engine: found where ``make similarity-engine`` installs it, run once per
kind of document (Python code, written text) through :file:`dolos_runner.mjs`.

Dolos fingerprints every document once into one index (winnowed k-grams of tree-sitter tokens, so
renamed variables and changed comments do not hide a copy) and ignores the fingerprints of the
released template; it then builds each pair from the fingerprints two documents share.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from autograder.errors import UserError

RUNNER = Path(__file__).with_name("dolos_runner.mjs")
REPO = Path(__file__).resolve().parents[2]
LIB_INDEX = Path("node_modules/@dodona/dolos-lib/dist/index.js")
TIMEOUT_S = 600


@dataclass(frozen=True)
class EnginePair:
    """Dolos's comparison of two documents; regions are 0-based (line, col, line, col)."""

    left: str
    right: str
    similarity: float
    longest: int
    covered: int  # k-grams of both documents in shared fingerprints
    total: int  # k-grams of both documents that are not the template's
    fragments: list[tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)


def dolos_dir() -> Path:
    """Where Dolos is installed: ``AUTOGRADER_DOLOS_DIR``, else ``.tools/dolos`` of the repository
    holding this package (where ``make similarity-engine`` puts it)."""
    return Path(os.environ.get("AUTOGRADER_DOLOS_DIR") or REPO / ".tools" / "dolos")


def dolos_command() -> list[str]:
    """``node runner lib``; a one-line error when Node or Dolos is missing."""
    node = shutil.which("node")
    if node is None:
        raise UserError("autograder similarity needs Node.js >= 18 (Debian: nodejs): install it, "
                        "then run `make similarity-engine`")
    lib = dolos_dir() / LIB_INDEX
    if not lib.is_file():
        raise UserError(f"Dolos is not installed ({lib} is missing): run `make similarity-engine`")
    return [node, str(RUNNER), str(lib)]


def compare(language: str, documents: dict[str, str], template: str = "",
            fragment_pairs: int = 0) -> list[EnginePair]:
    """Every pair of the non-empty ``documents`` (name -> text) by Dolos (``python`` or ``char``),
    the template's fingerprints ignored; fragments for the ``fragment_pairs`` closest pairs."""
    files = [{"name": name, "content": text} for name, text in documents.items() if text.strip()]
    if len(files) < 2:
        return []
    request = {"language": language, "files": files, "template": template or None,
               "fragment_pairs": fragment_pairs}
    try:
        done = subprocess.run(dolos_command(), input=json.dumps(request), capture_output=True,
                              text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise UserError(f"Dolos took longer than {TIMEOUT_S} s on {len(files)} documents") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise UserError(f"Dolos failed on {len(files)} documents: {last}")
    return [EnginePair(p["left"], p["right"], float(p["similarity"]), int(p["longest"]),
                       int(p["left_covered"]) + int(p["right_covered"]),
                       int(p["left_total"]) + int(p["right_total"]),
                       [(tuple(a), tuple(b)) for a, b in p["fragments"]])
            for p in json.loads(done.stdout)["pairs"]]
