"""``autograder demo-course [FOLDER]`` (a ``make demo`` stage): the course server with a simulated class.

Builds a throw-away course (see :func:`autograder.classroom.demo.build_course`), starts ``autograder
serve`` on a free port of 127.0.0.1 and has simulated students download ``xor`` over HTTP and hand in
notebooks (:mod:`autograder.classroom.simulate`): correct, partly answered and hostile while it is due
next week, and a late one once its due date is moved into the past. It waits for their feedback,
releases the hidden results and prints the per-student table from the instructor's JSON API; the
server is stopped by its process id in every case.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nbformat
from nbgrader.api import Gradebook

from autograder.classroom.class_table import format_table, student_rows
from autograder.classroom.course_client import CourseClient
from autograder.classroom.demo import build_course
from autograder.classroom.simulate import fill, hostile, reference_answers
from autograder.errors import UserError
from autograder.leaderboard.database import database_url
from autograder.leaderboard.store import create_course_database
from autograder.local_server import start_course_server, stop_server
from autograder.paths import course_root, quickdraw_dir

ASSIGNMENT = "xor"
ON_TIME = ("correct", "partly", "hostile")
LATE = "late"


def _notebooks(course: Path) -> dict[str, nbformat.NotebookNode]:
    """student -> the notebook they hand in (the late student hands in the correct one)."""
    released = nbformat.read(course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    answers = reference_answers(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    partly = {k: v for i, (k, v) in enumerate(sorted(answers.items())) if i % 2 == 0}
    return {"correct": fill(released, answers), "partly": fill(released, partly),
            "hostile": hostile(released, partly), LATE: fill(released, answers)}


def _hand_in(url: str, token: str, student: str, notebook, work: Path) -> int:
    """Download the assignment as ``student``, hand ``notebook`` in; the attempt id."""
    client = CourseClient(url, token)
    try:
        fetched = client.fetch(ASSIGNMENT, work / student)
        path = fetched.folder / f"{ASSIGNMENT}.ipynb"
        nbformat.write(notebook, path)
        accepted, attempt = client.hand_in(ASSIGNMENT, path)
    finally:
        client.close()
    if not accepted:
        raise UserError(f"the server refused {student}'s notebook: {attempt['detail']}")
    print(f"  {student:8} downloaded {len(fetched.notebooks)} notebook(s) and {len(fetched.data_files)} data "
          f"file(s), handed in attempt {attempt['id']} ({'late' if attempt['late'] else 'on time'})")
    return attempt["id"]


def run_class(url: str, tokens: dict[str, str], instructor: str, course: Path, timeout: float) -> str:
    """The simulated class on the server at ``url``; the printed table."""
    notebooks = _notebooks(course)
    with tempfile.TemporaryDirectory() as work:
        ids = {student: _hand_in(url, tokens[student], student, notebooks[student], Path(work))
               for student in ON_TIME}
        due = _set_due_date(course, timedelta(seconds=-1))  # the server reads due dates afresh on every call
        print(f"  {ASSIGNMENT} is now past due ({due:%H:%M:%S} UTC)")
        ids[LATE] = _hand_in(url, tokens[LATE], LATE, notebooks[LATE], Path(work))
    for student, attempt_id in ids.items():
        client = CourseClient(url, tokens[student])
        try:
            attempt = client.wait_for(attempt_id, timeout)
        finally:
            client.close()
        print(f"  {student:8} feedback: {attempt['state']}")
    admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {instructor}"}, timeout=30)
    with admin:
        admin.put(f"/api/instructor/assignments/{ASSIGNMENT}/feedback", json={"released": True}).raise_for_status()
        reply = admin.get(f"/api/instructor/assignments/{ASSIGNMENT}/attempts")
        reply.raise_for_status()
    return format_table(ASSIGNMENT, student_rows(reply.json()))


def _set_due_date(course: Path, after: timedelta) -> datetime:
    """Make ``xor`` due ``after`` from now (naive UTC, as nbgrader keeps it)."""
    due = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + after
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "mlp-week") as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT, duedate=due)
    return due


def run(args: argparse.Namespace) -> int:
    """Handle ``autograder demo-course``."""
    repo = course_root()
    target = Path(args.folder).resolve() if args.folder else repo / "build" / "demo-course"
    course = build_course(target, repo)
    data = Path(args.data).resolve() if args.data else quickdraw_dir()
    if not (data / "competition" / "classes.txt").is_file():
        raise UserError(f"no prepared QuickDraw data in {data}: run `autograder data quickdraw prepare all` first")
    db = database_url(course.root / "course.db")
    tokens, instructor = create_course_database(db, data, (*ON_TIME, LATE))
    start = time.monotonic()
    with open(course.root / "server.log", "wb") as log:
        process, url = start_course_server(db, course.root, data, "--auto-verify-top", "0", output=log)
        _set_due_date(course.root, timedelta(days=7))
        print(f"course server {url} (pid {process.pid}); log {log.name}")
        try:
            table = run_class(url, tokens, instructor, course.root, args.timeout)
        finally:
            stop_server(process)
    print(table)
    print(f"the course demo took {time.monotonic() - start:.0f} s; the server (pid {process.pid}) is stopped")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo-course`` subcommand."""
    parser = subparsers.add_parser(
        "demo-course", help="the course server with a simulated class (the course stage of `make demo`)",
        description="Start `autograder serve` on 127.0.0.1, have simulated students download xor and hand in "
                    "correct, partly answered, hostile and late notebooks, release the feedback and print the "
                    "per-student table.")
    parser.add_argument("folder", nargs="?", metavar="FOLDER", help="the demo course (default: build/demo-course)")
    parser.add_argument("--data", metavar="DIR", help="the prepared QuickDraw data (default: data/quickdraw)")
    parser.add_argument("--timeout", type=float, default=150.0, metavar="SECONDS",
                        help="how long to wait for each attempt's feedback")
    parser.set_defaults(func=run)
