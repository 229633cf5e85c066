"""Fixtures of the course server's tests.

``course_folder``  (module) a course folder in a temp dir: the repository's nbgrader_config.py and
                   released assignments/, and a gradebook in which xor and mlp_scratch have due dates
                   (``DUE``) and the others none.
``competition_db`` (module) a leaderboard database in a temp dir holding the competition made from
                   the real prepared labels (``quickdraw_root``), with students alice and bob;
                   ``.url``, ``.tokens`` (by student) and ``.instructor``.
``course_server``  (module) ``autograder serve`` of both, in a subprocess on a free port of 127.0.0.1;
                   ``.url``, ``.course``, ``.data``, ``.tokens``, ``.instructor`` and ``.due`` (``DUE``).
``handin_server``  (module) ``autograder serve --attempts-per-hour 2`` of a course that can grade
                   (its solutions/ copied too; activations was due in the past: ``PAST_DUE``) and a
                   database with the students ``HANDIN_STUDENTS``; besides ``course_server``'s
                   fields, ``.process`` and ``.restart(kill=True)``: kill -9 its whole session and
                   start it again on the same database and port-free URL (``.url`` changes).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from nbgrader.api import Gradebook

from autograder import local_server
from autograder.leaderboard.database import database_url
from autograder.leaderboard.store import create_course_database
from autograder.local_server import stop_server
from tests.web.handin_notebooks import PAST_DUE

REPO = Path(__file__).resolve().parents[2]
DUE = {"xor": datetime(2026, 12, 14, 23, 59), "mlp_scratch": datetime(2026, 12, 21, 12, 0)}
STUDENTS = ("alice", "bob")


@pytest.fixture(scope="module")
def course_folder(tmp_path_factory) -> Path:
    """A copy of the course's released side with due dates in its own gradebook."""
    # Deferred: nbgrader is slow to import; only these fixtures write a gradebook.

    folder = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "nbgrader_config.py", folder)
    shutil.copytree(REPO / "assignments", folder / "assignments")
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}", "mlp-week") as gradebook:
        for name, due in DUE.items():
            gradebook.update_or_create_assignment(name, duedate=due)
        gradebook.update_or_create_assignment("activations")  # in the gradebook without a due date
    return folder


@pytest.fixture(scope="module")
def competition_db(tmp_path_factory, quickdraw_root) -> SimpleNamespace:
    """The competition of the prepared data, with two students."""
    url, tokens, instructor = competition_database(tmp_path_factory.mktemp("leaderboard"), quickdraw_root, STUDENTS)
    return SimpleNamespace(url=url, tokens=tokens, instructor=instructor)


def competition_database(folder: Path, quickdraw_root: Path, students, url: str | None = None) -> tuple[str, dict, str]:
    """A competition (at ``url``, default a SQLite file in ``folder``) on the prepared labels, with
    ``students``: (url, tokens, instructor token)."""
    url = url or database_url(folder / "lb.db")
    tokens, instructor = create_course_database(url, quickdraw_root, students)
    return url, tokens, instructor


def start_course_server(db: str, course: Path, data: Path, *options: str) -> tuple[subprocess.Popen, str]:
    """``autograder serve`` (with ``options``) of ``course`` and ``data``, none of this run's course or
    data variables passed on; the process (its output piped) and its URL once it answers."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("QUICKDRAW_", "LEADERBOARD_", "AUTOGRADER_")) and key != "COURSE_ROOT"}
    return local_server.start_course_server(db, course, data, *options, env=env, output=subprocess.PIPE)


@pytest.fixture(scope="module")
def course_server(course_folder, competition_db, quickdraw_root):
    """The course server over real HTTP."""
    process, url = start_course_server(competition_db.url, course_folder, quickdraw_root)
    try:
        yield SimpleNamespace(url=url, course=course_folder, data=quickdraw_root, tokens=competition_db.tokens,
                              instructor=competition_db.instructor, due=DUE)
    finally:
        stop_server(process)
        process.stdout.close()


HANDIN_STUDENTS = ("alice", "bob", "carol", "dave", "erin", "frank")


@pytest.fixture(scope="module")
def handin_course(tmp_path_factory) -> Path:
    """A course folder that can grade: nbgrader_config.py, assignments/, solutions/, due dates."""
    folder = tmp_path_factory.mktemp("handin-course")
    shutil.copy(REPO / "nbgrader_config.py", folder)
    for part in ("assignments", "solutions"):
        shutil.copytree(REPO / part, folder / part)
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}", "mlp-week") as gradebook:
        gradebook.update_or_create_assignment("xor", duedate=DUE["xor"])
        gradebook.update_or_create_assignment("activations", duedate=PAST_DUE)
    return folder


@pytest.fixture(scope="module")
def handin_server(tmp_path_factory, handin_course, quickdraw_root):
    """The course server handing homework in, over real HTTP (see the module docstring)."""
    url, tokens, instructor = competition_database(tmp_path_factory.mktemp("handin-db"), quickdraw_root,
                                                   HANDIN_STUDENTS)
    options = ("--attempts-per-hour", "2", "--auto-verify-top", "0")
    server = SimpleNamespace(course=handin_course, data=quickdraw_root, tokens=tokens, instructor=instructor, db=url)

    def restart(kill: bool = True) -> None:
        if kill:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(10)
            server.process.stdout.close()
        server.process, server.url = start_course_server(url, handin_course, quickdraw_root, *options)

    server.restart = restart
    restart(kill=False)
    try:
        yield server
    finally:
        stop_server(server.process)
        server.process.stdout.close()
