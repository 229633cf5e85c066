"""Benchmark: wall time of every solution notebook, top to bottom, against the 3-minute budget.

Each reference notebook in solutions/ runs once in a fresh kernel (nbclient) on the prepared
QuickDraw data; the table shows seconds and the ratio to the 180 s budget of issue 3
(a ratio below 1.0 is within budget).

    python bench/bench_notebooks.py [--data data/quickdraw]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 180


def run_notebook(notebook: Path, env: dict[str, str]) -> float:
    """Run a copy of the notebook's folder in a temporary folder; return the seconds taken."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp) / notebook.parent.name
        shutil.copytree(notebook.parent, workdir)
        nb = nbformat.read(workdir / notebook.name, as_version=4)
        client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(workdir)}})
        start = time.perf_counter()
        client.execute(env={**os.environ, **env})
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "data" / "quickdraw",
                        help="folder holding the prepared homework/ and competition/ datasets")
    args = parser.parse_args()
    env = {"QUICKDRAW_HOMEWORK": str(args.data.resolve() / "homework"),
           "QUICKDRAW_COMPETITION": str(args.data.resolve() / "competition")}
    print(f"{'notebook':<20} {'seconds':>8} {'ratio to budget':>16}")
    worst = 0.0
    for notebook in sorted((REPO / "solutions").glob("*/*.ipynb")):
        seconds = run_notebook(notebook, env)
        worst = max(worst, seconds / BUDGET_SECONDS)
        print(f"{notebook.stem:<20} {seconds:8.1f} {seconds / BUDGET_SECONDS:16.2f}")
    print(f"worst ratio to the {BUDGET_SECONDS} s budget: {worst:.2f} "
          f"({'within' if worst <= 1 else 'OVER'} budget)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
