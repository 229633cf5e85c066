"""Helpers for the leaderboard tests: synthetic answer keys, a settable clock, a real
PostgreSQL server and a real ``autograder leaderboard serve`` process.

Imported by the ``test_leaderboard_*`` modules; it holds no tests itself.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

from autograder.leaderboard.roster import RosterEntry
from autograder.leaderboard.scoring import AnswerKey
from autograder.leaderboard.store import Leaderboard, database_url

CLASSES = ("apple", "bicycle", "cat", "eye", "fish")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
REPO = Path(__file__).resolve().parent.parent


def synthetic_key(n: int = 400, n_classes: int = 5, seed: int = 0) -> AnswerKey:
    """A random answer key: opaque ids, balanced labels, alternate rows public (stratified)."""
    rng = np.random.default_rng(seed)
    ids = [f"q{number:05d}" for number in rng.choice(100_000, size=n, replace=False)]
    labels = np.arange(n) % n_classes
    rng.shuffle(labels)
    public = np.zeros(n, dtype=bool)
    for label in range(n_classes):  # half of every class is public
        rows = np.flatnonzero(labels == label)
        public[rows[: len(rows) // 2]] = True
    classes = CLASSES if n_classes == 5 else tuple(f"class{i}" for i in range(n_classes))
    return AnswerKey.from_arrays(ids, labels, public, classes)


def write_labels_csv(key: AnswerKey, path: Path) -> Path:
    """Write the key as the instructor's ``id,label,split`` file."""
    lines = ["id,label,split"] + [
        f"{key_id},{label},{'public' if public else 'private'}"
        for key_id, label, public in zip(key.ids, key.labels, key.public)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def csv_bytes(key: AnswerKey, labels, order=None) -> bytes:
    """A valid submission: ``labels`` (one per key id) as ``id,label`` rows in ``order``."""
    order = range(len(key.ids)) if order is None else order
    return ("id,label\n" + "".join(f"{key.ids[i]},{int(labels[i])}\n" for i in order)).encode()


class Clock:
    """A clock the test moves by hand (naive UTC, as the store uses)."""

    def __init__(self, start: datetime = datetime(2025, 11, 3, 12, 0, 0)):
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)  # distinct, increasing submission times
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def make_board(url: str, key: AnswerKey, students=("alice", "bob", "carol"), clock=None, **settings):
    """A new competition in ``url`` with ``students``; returns (leaderboard, tokens by student, instructor token)."""
    lb = Leaderboard(url, **({"clock": clock} if clock else {}))
    instructor = lb.initialize(key, **settings)
    entries = [student if isinstance(student, RosterEntry) else RosterEntry(student) for student in students]
    tokens = dict(lb.add_students(entries))
    return lb, tokens, instructor


def sqlite_url(tmp_path: Path, name: str = "lb.db") -> str:
    return database_url(tmp_path / name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres_server():
    """Start a throw-away PostgreSQL 15 on 127.0.0.1 (as user postgres when we are root);
    yield a function ``new_database() -> SQLAlchemy URL``; stop and delete it afterwards."""
    root = Path(tempfile.mkdtemp(prefix="lb-pg-"))
    as_user = {}
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = {"user": "postgres", "group": "postgres", "extra_groups": []}
    data, port = root / "data", free_port()
    run = lambda *argv: subprocess.run(argv, check=True, capture_output=True, cwd=root, **as_user)  # noqa: E731
    run(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "-t", "60", "start")
    counter = iter(range(1_000_000))
    try:
        import psycopg

        def new_database() -> str:
            name = f"lb_test_{next(counter)}"
            with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"

        yield new_database
    finally:
        subprocess.run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, cwd=root, **as_user)
        shutil.rmtree(root, ignore_errors=True)


class Server:
    """``autograder leaderboard serve`` in a subprocess on a free port of 127.0.0.1."""

    def __init__(self, db: str, refresh: float = 0.5):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LEADERBOARD_DB": "", "LEADERBOARD_URL": ""}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder", "leaderboard", "serve", "--db", db, "--port", str(self.port),
             "--refresh", str(refresh)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/api/competition", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the leaderboard server did not start:\n" + self.output)
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: the server dies mid-request, like a crash."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.output = self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""
        if self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
