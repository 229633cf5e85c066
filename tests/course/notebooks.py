"""The course's notebooks as the repo-content tests read and run them: where they are, which
are graded and with what interface, their nbgrader metadata and defined signatures, and a run of
one notebook in a fresh kernel (``execute_notebook``)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
from nbclient import NotebookClient

from autograder.grading.assignments import discover

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
# every assignment in solutions/; the graded ones are those with hidden checks (discovered from
# autograder/checks/*/assignment.toml); the competition alone is not: the leaderboard scores it
NAMES = tuple(sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").is_file()))
GRADED = tuple(spec.name for spec in discover())
# name -> signature as written in the notebook (methods: "Class.method")
API = {spec.name: spec.interface for spec in discover()}

PROBE_MARK = "PROBE-METRICS "  # the probe cell's output line starts with it


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def defined_signatures(cells) -> dict[str, tuple[str, str | None]]:
    """Functions and class methods defined at the top of code cells: name -> (signature, docstring)."""
    found = {}
    for cell in cells:
        if cell.cell_type != "code":
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.FunctionDef):
                found[node.name] = (ast.unparse(node.args), ast.get_docstring(node))
            elif isinstance(node, ast.ClassDef):
                found[node.name] = ("<class>", ast.get_docstring(node))
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        found[f"{node.name}.{item.name}"] = (ast.unparse(item.args), ast.get_docstring(item))
    return found


def execute_notebook(notebook: Path, workdir: Path, env: dict[str, str], *,
                     allow_errors: bool = False, probe: str | None = None,
                     with_files: bool = True) -> SimpleNamespace:
    """Copy the notebook's folder to ``workdir`` and run the notebook there in a fresh kernel.

    ``with_files=False`` copies the notebook alone, without the files beside it. ``probe``: code
    run after the last cell that sets ``_metrics``, returned as ``.metrics``. Also returns the
    executed notebook (``.nb``, without the probe cell), ``.workdir`` and ``.seconds``.
    """
    shutil.copytree(notebook.parent, workdir, ignore=lambda folder, names: (
        [] if with_files else [n for n in names if n != notebook.name]))
    nb = nbformat.read(workdir / notebook.name, as_version=4)
    if probe is not None:
        nb.cells.append(nbformat.v4.new_code_cell(
            f"{probe}\nimport json as _json\nprint({PROBE_MARK!r} + _json.dumps(_metrics))"))
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(workdir)}})
    start = time.perf_counter()
    client.execute(env={**os.environ, **env})
    seconds = time.perf_counter() - start
    metrics = None
    if probe is not None:
        text = "".join(o.get("text", "") for o in nb.cells.pop().outputs if o.output_type == "stream")
        metrics = json.loads(text.split(PROBE_MARK, 1)[1])
    return SimpleNamespace(nb=nb, workdir=workdir, seconds=seconds, metrics=metrics)
