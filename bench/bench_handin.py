"""Benchmark: handing the XOR notebook in to the course server until its visible feedback shows,
against executing the same notebook bare with nbclient.

A fresh course (this repo's config, the XOR source and its release) and leaderboard database are
made in a temp folder, ``autograder serve`` is started on 127.0.0.1 with one grading process, and
one student hands in the reference-correct XOR notebook ``--n`` times, one after another, each
time polling ``GET /api/attempts/ID`` every 0.1 s until the visible results are there. The bare
run executes the same notebook ``--n`` times with nbclient in a scratch copy of the released
files (no sandbox, no checks). The first hand-in also pays for starting the grading process (torch
and the pre-warmed zygote), so it is printed apart; the ratio is of the medians of the rest.

Then ``--crowd`` students hand the same notebook in at once, to a server grading with ``--graders
2`` local processes and to one grading on a Dask LocalCluster (2 single-thread workers on
127.0.0.1) via ``--scheduler``: p50/p95 time to feedback and attempts graded per minute, both
printed from this one run (each server first grades one warm-up attempt, not counted).

    python bench/bench_handin.py [--n 4] [--crowd 10] [--data DIR]   # DIR: the prepared QuickDraw root
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import nbformat
from distributed import LocalCluster
from nbclient import NotebookClient

from autograder import local_server
from autograder.classroom.release import release_assignment
from autograder.classroom.simulate import simulated_class
from autograder.leaderboard.database import database_url
from autograder.leaderboard.store import create_course_database
from autograder.local_server import stop_server
from autograder.paths import quickdraw_dir

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "xor"


def make_course(folder: Path, data: Path, students: int = 1) -> tuple[Path, str, list[str]]:
    """The course, its database URL (a competition from the prepared ``data``) and the students' tokens."""
    folder.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", folder)
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, folder / "solutions" / ASSIGNMENT)
    release_assignment(ASSIGNMENT, root=folder)
    url = database_url(folder / "lb.db")
    tokens, _ = create_course_database(url, data, [f"student{i}" for i in range(students)])
    return folder, url, list(tokens.values())


def start_course_server(course: Path, db: str, data: Path, *options: str) -> tuple[subprocess.Popen, str]:
    """``autograder serve`` of ``course`` without the hourly limit (the bench hands in many times)."""
    return local_server.start_course_server(db, course, data, "--auto-verify-top", "0", "--attempts-per-hour", "1000",
                                            *options)


def hand_in_once(url: str, token: str, data: bytes) -> float:
    """Seconds from the upload's start to the visible results on the attempt's poll."""
    headers = {"Authorization": f"Bearer {token}"}
    start = time.monotonic()
    reply = httpx.post(f"{url}/api/assignments/{ASSIGNMENT}/attempts", headers=headers, timeout=60,
                       files={"notebook": (f"{ASSIGNMENT}.ipynb", data)})
    reply.raise_for_status()
    while True:
        attempt = httpx.get(f"{url}/api/attempts/{reply.json()['id']}", headers=headers, timeout=60).json()
        if attempt["state"] in ("done", "failed"):
            if attempt["state"] != "done" or not all(t["passed"] for t in attempt["visible"]["tests"]):
                raise SystemExit(f"the correct notebook was not graded as such: {attempt}")
            return time.monotonic() - start
        time.sleep(0.1)


def crowd(course: Path, db: str, data_root: Path, tokens: list[str], data: bytes, *options: str):
    """Every student of ``tokens`` (the first one warms the server up) hands in at once: (seconds each, wall)."""
    process, url = start_course_server(course, db, data_root, *options)
    try:
        hand_in_once(url, tokens[0], data)
        start = time.monotonic()
        with ThreadPoolExecutor(len(tokens) - 1) as pool:
            times = list(pool.map(lambda token: hand_in_once(url, token, data), tokens[1:]))
        return times, time.monotonic() - start
    finally:
        stop_server(process, grace=30)


def summary(label: str, times: list[float], wall: float) -> str:
    """One line: p50/p95 time to feedback and attempts graded per minute."""
    p95 = statistics.quantiles(times, n=20, method="inclusive")[-1]
    return (f"{label}: {len(times)} at once, p50 {statistics.median(times):.2f} s, p95 {p95:.2f} s, "
            f"{60 * len(times) / wall:.1f} attempts/min")


def bare_once(course: Path, data: bytes) -> float:
    """Seconds to execute the notebook with nbclient in a scratch copy of the released files."""
    release = course / "assignments" / ASSIGNMENT
    with tempfile.TemporaryDirectory() as scratch:
        for path in release.iterdir():
            if path.suffix != ".ipynb":
                shutil.copy(path, scratch)
        nb = nbformat.reads(data.decode(), as_version=4)
        start = time.monotonic()
        NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": scratch}}).execute()
        return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4, help="hand-ins and bare runs each (default 4; at least 2)")
    parser.add_argument("--crowd", type=int, default=10, help="students handing in at once (default 10)")
    parser.add_argument("--data", type=Path, default=quickdraw_dir(), help="the prepared QuickDraw root "
                        "(default: data/quickdraw of the course; run `autograder data quickdraw prepare` first)")
    args = parser.parse_args()
    data_root = args.data.resolve()
    with tempfile.TemporaryDirectory() as scratch:
        course, db, tokens = make_course(Path(scratch) / "course", data_root, 1 + max(2, args.crowd))
        token = tokens[0]
        notebooks = simulated_class(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                                    course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        data = nbformat.writes(notebooks["correct"]).encode()
        process, url = start_course_server(course, db, data_root)
        try:
            handed = [hand_in_once(url, token, data) for _ in range(max(2, args.n))]
        finally:
            stop_server(process, grace=30)
        bare = [bare_once(course, data) for _ in range(max(2, args.n))]
        local = crowd(course, db, data_root, tokens, data, "--graders", "2")
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, memory_limit=0) as cluster:
            remote = crowd(course, db, data_root, tokens, data, "--graders", "2", "--scheduler",
                           cluster.scheduler_address)
    steady, bare_p50 = statistics.median(handed[1:]), statistics.median(bare)
    print(f"hand-in to visible feedback: first {handed[0]:.2f} s (starts the grading process), "
          f"then p50 {steady:.2f} s over {len(handed) - 1} ({', '.join(f'{t:.2f}' for t in handed[1:])})")
    print(f"bare nbclient execution:     p50 {bare_p50:.2f} s over {len(bare)} ({', '.join(f'{t:.2f}' for t in bare)})")
    print(f"ratio hand-in / bare (p50): {steady / bare_p50:.2f}x (target <= 1.3x for one student)")
    print(summary("local pool (2 processes)", *local))
    print(summary("Dask LocalCluster (2 workers)", *remote))
    print(f"ratio Dask / local: p50 {statistics.median(remote[0]) / statistics.median(local[0]):.2f}x, "
          f"throughput {local[1] / remote[1]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
