"""Benchmark: grading a class of XOR notebooks - stock nbgrader vs ours vs bare execution.

40 submissions are generated from the reference and released XOR notebooks (half reference-
correct, the rest partly answered, blank or hostile: see autograder/classroom/simulate.py) and
graded four ways, each in a fresh copy of the course:

  stock    `nbgrader autograde xor` (one notebook after another, no sandbox)
  bare     nbclient executes the same notebooks, --workers at a time (no sandbox, no checks,
           no gradebook): the floor any grader pays
  ours     `autograder grade` = grade_class: one sandbox per notebook, hidden checks through the
           proxy, nbgrader gradebook, --workers in parallel (plain sandboxed kernels)
  zygote   the same with kernels forked from a pre-warmed sandboxed zygote (torch imported once
           per worker): what `autograder grade` does by default when it runs as root

Printed: wall time and notebooks/min of each, peak memory (PSS of the whole process tree,
sandboxes included, so pages shared copy-on-write are counted once), the throughput ratio
against stock nbgrader (target >= 3x, at least 2x) and the overhead against bare execution
(target <= 15 %), all from this one run.

    python bench/bench_grading.py [--n 40] [--workers N] [--skip stock,bare,ours,zygote]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader.api import Gradebook

from autograder.classroom.course import Course
from autograder.classroom.grade_class import default_workers, grade_class, run_local
from autograder.classroom.release import release_assignment
from autograder.classroom.simulate import simulated_class, write_class
from autograder.classroom.worker import grade_task, make_payload

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "xor"
KINDS = ("correct", "partly", "correct", "blank", "correct", "hostile", "correct", "partly")


def make_course(folder: Path) -> Path:
    """A fresh course with this repo's config, the XOR source and its release (own gradebook)."""
    folder.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", folder)
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, folder / "solutions" / ASSIGNMENT)
    release_assignment(ASSIGNMENT, root=folder)
    return folder


def make_class(course: Path, n: int) -> dict[str, str]:
    """Write n submissions into submitted/; return student -> kind."""
    notebooks = simulated_class(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                                course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    kinds = {f"s{i:03d}": KINDS[i % len(KINDS)] for i in range(n)}
    write_class(course, ASSIGNMENT, {student: notebooks[kind] for student, kind in kinds.items()})
    return kinds


class PeakMemory:
    """Samples the PSS of this process and all its descendants; keeps the peak."""

    def __init__(self, interval: float = 0.25):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[int]:
        pids, todo = [], [os.getpid()]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as handle:
                        todo += [int(x) for x in handle.read().split()]
            except OSError:
                continue
        return pids

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for pid in self._tree():
                try:
                    with open(f"/proc/{pid}/smaps_rollup") as handle:
                        total += sum(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
                except (OSError, ValueError):
                    continue
            self.peak = max(self.peak, total * 1024)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def bare_task(payload: dict) -> None:
    """Execute one notebook with nbclient in a scratch copy of the released files (no sandbox)."""
    release = Path(payload["course_root"]) / "assignments" / ASSIGNMENT
    with tempfile.TemporaryDirectory() as scratch:
        for path in release.iterdir():
            if path.suffix != ".ipynb":
                shutil.copy(path, scratch)
        nb = nbformat.reads(payload["data"].decode(), as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": scratch}}).execute()


def run_stock(course: Path) -> float:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    start = time.monotonic()
    done = subprocess.run([str(bin_dir / "nbgrader"), "autograde", ASSIGNMENT], cwd=course, env=env,
                          capture_output=True, text=True)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"nbgrader autograde failed:\n{done.stderr[-3000:]}")
    return seconds


def run_bare(course: Path, workers: int) -> tuple[float, list]:
    payloads = [make_payload(ASSIGNMENT, s.student, s.notebook, s.path.read_bytes(), 0, course)
                for s in Course(course).find_submissions(ASSIGNMENT)]
    start = time.monotonic()
    for _ in run_local(payloads, workers, task=bare_task):
        pass
    return time.monotonic() - start, []


def run_ours(course: Path, workers: int, task, zygote: bool) -> tuple[float, list]:
    c = Course(course)
    start = time.monotonic()
    report = grade_class(ASSIGNMENT, c.find_submissions(ASSIGNMENT), workers=workers, seed=2019, course=c,
                         options={"zygote": zygote}, task=task)
    return time.monotonic() - start, report.results


def stock_scores(course: Path) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: s.code_score for s in gb.assignment_submissions(ASSIGNMENT)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=40, help="number of submissions (default 40)")
    parser.add_argument("--workers", type=int, default=None, help="parallel notebooks (default: all cores)")
    parser.add_argument("--skip", default="", help="comma-separated phases to skip: stock,bare,ours,zygote")
    args = parser.parse_args()
    os.environ["PATH"] = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    workers = args.workers or default_workers()
    skip = set(filter(None, args.skip.split(",")))
    base = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    timings, memory, outcomes = {}, {}, {}
    try:
        template = make_course(base / "template")
        kinds = make_class(template, args.n)
        counts = {k: list(kinds.values()).count(k) for k in sorted(set(kinds.values()))}
        print(f"{args.n} XOR submissions {counts}; {workers} workers; {os.cpu_count()} cores; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        phases = [
            ("bare", lambda c: run_bare(c, workers)),
            ("ours", lambda c: run_ours(c, workers, grade_task, zygote=False)),
            ("zygote", lambda c: run_ours(c, workers, grade_task, zygote=True)),
            ("stock", lambda c: (run_stock(c), None)),
        ]
        for name, run in phases:
            if name in skip:
                continue
            course = base / name
            shutil.copytree(template, course)
            print(f"-- {name} ...", flush=True)
            with PeakMemory() as peak:
                seconds, results = run(course)
            timings[name], memory[name] = seconds, peak.peak
            outcomes[name] = stock_scores(course) if name == "stock" else {r.student: r.score for r in results or []}
            errors = sorted({str(r.error)[:200] for r in results or [] if r.status == "error"})
            if errors:
                print(f"   {name}: {len(errors)} distinct grading errors, e.g. {errors[:3]}", flush=True)
            print(f"   {name}: {seconds:.1f} s, {args.n / seconds * 60:.1f} notebooks/min, "
                  f"peak memory {peak.peak / 2**30:.2f} GiB, load average now {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print_summary(args.n, timings, memory, outcomes, kinds)
    return 0


def print_summary(n: int, timings: dict, memory: dict, outcomes: dict, kinds: dict[str, str]) -> None:
    """The table of the phases, the ratios against the targets and who reached the top score."""
    print()
    print(f"{'phase':8} {'seconds':>8} {'nb/min':>7} {'peak GiB':>9}")
    for name, seconds in timings.items():
        print(f"{name:8} {seconds:8.1f} {n / seconds * 60:7.1f} {memory[name] / 2**30:9.2f}")
    for name, title in (("ours", "ours, plain sandboxes"), ("zygote", "ours, zygote kernels")):
        if name in timings and "stock" in timings:
            ratio = timings["stock"] / timings[name]
            verdict = ("meets the 3x target" if ratio >= 3 else
                       "below the 3x target, meets the 2x minimum" if ratio >= 2 else "MISSES the 2x minimum")
            print(f"throughput {title} vs stock nbgrader: {ratio:.2f}x ({verdict})")
        if name in timings and "bare" in timings:
            overhead = timings[name] / timings["bare"] - 1
            verdict = "meets" if overhead <= 0.15 else "MISSES"
            print(f"overhead {title} over bare nbclient: {overhead * 100:+.1f} % ({verdict} target <= 15 %)")
    full = [s for s, k in kinds.items() if k == "correct"]
    for name in ("ours", "zygote", "stock"):
        if name in outcomes:
            top = max(outcomes[name].values(), default=0)
            print(f"{name}: reference-correct notebooks at the top score ({top:g}): "
                  f"{sum(outcomes[name].get(s) == top for s in full)}/{len(full)}")


if __name__ == "__main__":
    raise SystemExit(main())
