"""Benchmark: grading correct XOR notebooks with and without a CPU hog in the batch, and the cost
of a sandbox's cgroup.

Three batches of the same ``--n`` reference-correct XOR submissions are graded by ``grade_class``
(``--workers`` workers, zygote kernels, no gradebook), each in its own process:

  alone       the correct notebooks only
  hog         a hog first (a blank notebook whose first cell starts 50 busy loops, each in its
              own session, plus 4 busy threads, for ``--hog-seconds``), then the correct ones
  hog-nocg    the same batch with ``AUTOGRADER_CGROUPS=off`` (per-process rlimits and wall-time
              limits only: what main did)

Printed per batch: the correct notebooks' scores, their mean grading time and sandbox CPU time
(what their limits are judged on), the batch's wall time, the cores the hog's sandbox got; then
the ratios against ``alone`` from this run. Then the cgroup set-up per sandbox: create (all
controllers, limits written), attach a running process, close (kill + rmdir), in ms (median of
``--cgroups`` rounds).

    python bench/bench_hog.py [--n 4] [--workers 2] [--hog-seconds 40] [--skip hog-nocg]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.classroom.grade_class import grade_class
from autograder.classroom.simulate import simulated_class
from autograder.grading.submissions import Submission
from autograder.sandbox.cgroup import sandbox_cgroup
from autograder.sandbox.limits import Limits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_grading import ASSIGNMENT, make_course  # noqa: E402

LIMITS = {"cell_timeout": 30.0, "notebook_timeout": 120.0, "call_timeout": 10.0, "check_timeout": 30.0}
HOG = """import os, threading, time
END = time.time() + {seconds}
def spin():
    while time.time() < END:
        pass
for _ in range(50):
    if os.fork() == 0:
        try:
            os.setsid()
            spin()
        finally:
            os._exit(0)
for _ in range(4):
    threading.Thread(target=spin, daemon=True).start()
"""
BATCHES = ("alone", "hog", "hog-nocg")


def write_submissions(course: Path, n: int, hog_seconds: float) -> Path:
    """correct*.ipynb and hog.ipynb in a folder of the course."""
    notebooks = simulated_class(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                                course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    folder = course / "bench_submissions"
    folder.mkdir()
    for i in range(n):
        nbformat.write(notebooks["correct"], folder / f"correct{i}.ipynb")
    hog = notebooks["blank"]
    hog.cells.insert(0, nbformat.v4.new_code_cell(HOG.format(seconds=hog_seconds)))
    nbformat.write(hog, folder / "hog.ipynb")
    return folder


def run_batch(course: Path, batch: str, workers: int) -> dict:
    """Grade one batch in this process; the figures as a dict."""
    folder = course / "bench_submissions"
    names = sorted(p.stem for p in folder.glob("correct*.ipynb"))
    if batch != "alone":
        names.insert(0, "hog")
    submissions = [Submission(name, ASSIGNMENT, folder / f"{name}.ipynb") for name in names]
    start = time.monotonic()
    report = grade_class(ASSIGNMENT, submissions, workers=workers, seed=2019, progress=False, record=False,
                         root=course, options={"limits": LIMITS})
    correct = [r for r in report.results if r.student != "hog"]
    hog = next((r.timings for r in report.results if r.student == "hog"), {})
    return {"wall": time.monotonic() - start,
            "scores": [(r.score, r.max_score) for r in correct],
            "times": [r.timings.get("total", 0.0) for r in correct],
            "cpu": [r.timings.get("sandbox_cpu") for r in correct],
            "hog": [hog.get("sandbox_cpu"), hog.get("total")]}


def cgroup_costs(rounds: int) -> dict | None:
    """Median ms of creating a sandbox cgroup, attaching a running process, closing it."""
    if sandbox_cgroup(Limits()) is None:  # (the first call also prepares and sweeps the subtree)
        return None
    times: dict[str, list[float]] = {"create": [], "attach": [], "close": []}
    for _ in range(rounds):
        sleeper = subprocess.Popen(["sleep", "60"])
        t0 = time.perf_counter()
        group = sandbox_cgroup(Limits())
        t1 = time.perf_counter()
        group.attach(sleeper.pid)
        t2 = time.perf_counter()
        group.close()
        t3 = time.perf_counter()
        sleeper.wait()
        for key, seconds in (("create", t1 - t0), ("attach", t2 - t1), ("close", t3 - t2)):
            times[key].append(seconds * 1000)
    return {key: statistics.median(values) for key, values in times.items()}


def _child(args) -> int:
    print(json.dumps(run_batch(Path(args.course), args.batch, args.workers)))
    return 0


def _line(name: str, figures: dict, alone: dict | None) -> str:
    scores = " ".join(f"{s:g}/{m:g}" for s, m in figures["scores"])
    mean = statistics.mean(figures["times"]) if figures["times"] else 0.0
    cpu = [c for c in figures["cpu"] if c is not None]
    text = (f"{name:9s} correct notebooks {scores:28s} mean {mean:6.1f} s"
            + (f" ({statistics.mean(cpu):.1f} s sandbox CPU)" if cpu else " (no sandbox CPU count)")
            + f"   batch {figures['wall']:6.1f} s")
    if alone is not None and name != "alone":
        text += (f"   x{mean / statistics.mean(alone['times']):.2f} per notebook, "
                 f"x{figures['wall'] / alone['wall']:.2f} batch vs alone")
    hog_cpu, hog_wall = figures["hog"]
    if hog_cpu is not None and hog_wall:
        text += f"\n{'':9s} the hog's sandbox: {hog_cpu:.1f} s CPU in {hog_wall:.1f} s = {hog_cpu / hog_wall:.2f} cores"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4, help="correct submissions per batch (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="grading workers (default 2)")
    parser.add_argument("--hog-seconds", type=float, default=40.0, help="how long the hog's loops run (default 40)")
    parser.add_argument("--cgroups", type=int, default=20, help="rounds of the cgroup cost measurement")
    parser.add_argument("--skip", default="", help=f"comma-separated batches to skip ({', '.join(BATCHES)})")
    parser.add_argument("--batch", help=argparse.SUPPRESS)
    parser.add_argument("--course", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.batch:
        return _child(args)
    skip = {s for s in args.skip.split(",") if s}
    with tempfile.TemporaryDirectory(prefix="bench-hog-") as tmp:
        course = make_course(Path(tmp) / "course")
        write_submissions(course, args.n, args.hog_seconds)
        results: dict[str, dict] = {}
        for batch in BATCHES:
            if batch in skip:
                continue
            env = {**os.environ, **({"AUTOGRADER_CGROUPS": "off"} if batch == "hog-nocg" else {})}
            out = subprocess.run([sys.executable, __file__, "--batch", batch, "--course", str(course),
                                  "--workers", str(args.workers)], env=env, capture_output=True, text=True,
                                 timeout=900)
            if out.returncode != 0:
                print(f"{batch}: failed: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                continue
            results[batch] = json.loads(out.stdout.strip().splitlines()[-1])
            print(_line(batch, results[batch], results.get("alone")), flush=True)
    costs = cgroup_costs(args.cgroups)
    if costs is None:
        print("cgroup set-up: cgroups unavailable here")
    else:
        total = sum(costs.values())
        print(f"cgroup set-up per sandbox (median of {args.cgroups}): create {costs['create']:.2f} ms, "
              f"attach {costs['attach']:.2f} ms, close (kill + rmdir) {costs['close']:.2f} ms; total {total:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
