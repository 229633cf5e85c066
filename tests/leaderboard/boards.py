"""Helpers for the leaderboard tests: synthetic answer keys, a settable clock, a real
PostgreSQL server, a real ``autograder leaderboard serve`` process, and simulated entrants
(random guessers, the boosting attack, honest retrains) played against the Ladder.

Imported by the ``test_leaderboard_*`` modules; it holds no tests itself.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from statistics import NormalDist

import httpx
import numpy as np

from autograder.leaderboard.ladder import DEFAULT_ALPHA, ladder_answer, pack
from autograder.leaderboard.roster import RosterEntry
from autograder.leaderboard.scoring import AnswerKey
from autograder.leaderboard.database import database_url
from autograder.leaderboard.store import Leaderboard

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

    def __init__(self, db: str, refresh: float = 0.5, workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LEADERBOARD_DB": "", "LEADERBOARD_URL": ""}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder", "leaderboard", "serve", "--db", db, "--port", str(self.port),
             "--refresh", str(refresh), "--workers", str(workers)],
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


# ---- the Ladder against attackers and honest entrants (tests and bench/bench_ladder.py) ----
N_PUBLIC = N_PRIVATE = 1000  # the competition's size
N_CLASSES = 5
CHANCE = 1 / N_CLASSES
ETA = 0.003  # the fixed Ladder's old default step


class Entrant:
    """One entrant's Ladder state as the store keeps it (reported best, packed best hits,
    submissions compared with that best), driven by the store's own decision function."""

    def __init__(self, mode: str, eta: float = ETA, alpha: float = DEFAULT_ALPHA):
        self.mode, self.eta, self.alpha, self.best, self.bits, self.since_best = mode, eta, alpha, None, None, 0

    def submit(self, correct: np.ndarray) -> bool:
        step = ladder_answer(self.mode, self.eta, self.best, self.bits, correct, alpha=self.alpha,
                             tries=self.since_best + 1)
        if step.moved:
            self.best, self.bits, self.since_best = step.reported, pack(correct), 0
        else:
            self.since_best += 1
        return step.moved


def plurality(vectors: np.ndarray, rng) -> np.ndarray:
    """Per image, the label most vectors give (ties broken at random)."""
    counts = np.stack([(vectors == label).sum(axis=0) for label in range(N_CLASSES)])
    return (counts + rng.random(counts.shape) * 0.5).argmax(axis=0)


def guessing_and_boosting(mode: str, seed: int, k: int, eta: float = ETA,
                          alpha: float = DEFAULT_ALPHA) -> tuple[float, float, float]:
    """(board after k random submissions - chance, boosting leak, board move from the vote)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, N_PUBLIC + N_PRIVATE)
    public = np.arange(len(labels)) < N_PUBLIC
    entrant, kept = Entrant(mode, eta, alpha), []
    for _ in range(k):
        guess = rng.integers(0, N_CLASSES, len(labels))
        if entrant.submit(guess[public] == labels[public]):
            kept.append(guess)
    board = entrant.best
    vote = plurality(np.array(kept), rng)
    leak = float(np.mean(vote[public] == labels[public]) - np.mean(vote[~public] == labels[~public]))
    entrant.submit(vote[public] == labels[public])
    return board - CHANCE, leak, entrant.best - board


def exact_board_leak(seed: int, k: int) -> float:
    """The boosting leak against a board that reports every exact public accuracy."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, N_PUBLIC + N_PRIVATE)
    public = np.arange(len(labels)) < N_PUBLIC
    guesses = rng.integers(0, N_CLASSES, (k, len(labels)))
    kept = guesses[np.mean(guesses[:, public] == labels[public], axis=1) > CHANCE]
    vote = plurality(kept, rng)
    return float(np.mean(vote[public] == labels[public]) - np.mean(vote[~public] == labels[~public]))


def model_hits(ease: np.ndarray, accuracy: float, rng, noise: float = 0.6) -> np.ndarray:
    """Per-image correctness of one trained model: right where ease + its own noise clears a
    threshold set for ``accuracy``; models of one pipeline share ``ease`` (so they agree on
    most images, as retrains do)."""
    threshold = -NormalDist().inv_cdf(accuracy) * math.sqrt(1 + noise**2)
    return ease + rng.normal(0, noise, len(ease)) > threshold


def honest_progress(mode: str, seed: int, accuracy: float, limit: int, eta: float = ETA,
                    first: int = 2, alpha: float = DEFAULT_ALPHA) -> tuple[int | None, float]:
    """After a 0.80 model on the board (submission 1) and retrains with no gain (submissions
    2 .. first - 1): how many retrains at ``accuracy`` (submissions first, first + 1, ...)
    until one moves the board (None if none of ``limit`` does), and the board after all
    ``limit`` of them minus ``accuracy`` (the expected public accuracy of one)."""
    rng = np.random.default_rng(seed)
    ease = rng.normal(0, 1, N_PUBLIC)
    entrant = Entrant(mode, eta, alpha)
    for _ in range(first - 1):
        entrant.submit(model_hits(ease, 0.80, rng))
    moved_at = None
    for number in range(1, limit + 1):
        if entrant.submit(model_hits(ease, accuracy, rng)) and moved_at is None:
            moved_at = number
    return moved_at, entrant.best - accuracy



# ---- malformed uploads for the fuzz tests -------------------------------------------------
def malformed_uploads(key: AnswerKey, valid_token: str, max_bytes: int, notebook_limit: int):
    """A hypothesis strategy of ``(kind, request kwargs, expected status, words in the message)``
    for POST /api/submissions; every one of them must be refused and store nothing."""
    from hypothesis import strategies as st

    lines = csv_bytes(key, key.labels).decode().splitlines()
    n = len(lines) - 1
    ids = set(key.ids)
    safe_text = st.text(st.characters(exclude_characters=',"\r\n\x00', exclude_categories=("Cs",)), max_size=12)
    auth = {"Authorization": f"Bearer {valid_token}"}

    def upload(text_or_bytes, headers=auth, **extra):
        data = text_or_bytes.encode() if isinstance(text_or_bytes, str) else text_or_bytes
        return {"files": {"file": ("predictions.csv", data, "text/csv"), **extra}, "headers": headers}

    def with_line(index, line):
        copy = list(lines)
        copy[index] = line
        return "\n".join(copy) + "\n"

    row = st.integers(1, n)
    label = lambda i: lines[i].split(",")[1]  # noqa: E731
    ident = lambda i: lines[i].split(",")[0]  # noqa: E731

    def mutate(kind, draw):
        if kind == "drop_rows":
            drop = set(draw(st.lists(row, min_size=1, max_size=5)))
            return upload("\n".join(line for i, line in enumerate(lines) if i not in drop)), 422, "missing"
        if kind == "duplicate_id":
            i, j = draw(st.lists(row, min_size=2, max_size=2, unique=True))
            return upload(with_line(j, f"{ident(i)},{label(j)}")), 422, "appears again"
        if kind == "unknown_id":
            i, new = draw(row), draw(safe_text.filter(lambda text: text not in ids))
            return upload(with_line(i, f"{new},{label(i)}")), 422, "unknown id"
        if kind == "label_not_integer":
            i = draw(row)
            text = draw(safe_text.filter(lambda t: not re.fullmatch(r"[+-]?[0-9]{1,9}", t)))
            return upload(with_line(i, f"{ident(i)},{text}")), 422, "not an integer"
        if kind == "label_out_of_range":
            i = draw(row)
            value = draw(st.one_of(st.integers(key.n_classes, 999_999_999), st.integers(-999_999_999, -1)))
            return upload(with_line(i, f"{ident(i)},{value}")), 422, "out of range"
        if kind == "extra_field":
            i = draw(row)
            return upload(with_line(i, lines[i] + "," + draw(safe_text))), 422, "expected 2 fields"
        if kind == "missing_field":
            i = draw(row)
            return upload(with_line(i, ident(i))), 422, "expected 2 fields"
        if kind == "bad_header":
            header = draw(st.text(st.characters(exclude_characters='"\r\n\x00', exclude_categories=("Cs",)),
                                  max_size=20).filter(lambda t: t.split(",") != ["id", "label"]))
            return upload(with_line(0, header)), 422, "header"
        if kind == "invalid_utf8":
            data = "\n".join(lines).encode()
            at = draw(st.integers(0, len(data)))
            return upload(data[:at] + bytes([draw(st.integers(0x80, 0xFF))]) + data[at:]), 422, "UTF-8"
        if kind == "blank_line_inside":
            copy = list(lines)
            copy.insert(draw(st.integers(1, n - 1)), draw(st.sampled_from(["", "", " "])))
            return upload("\n".join(copy)), 422, "line"
        if kind == "truncated":
            data = ("\n".join(lines) + "\n").encode()
            return upload(data[: draw(st.integers(0, len(data) - 3))]), 422, ""
        if kind == "semicolons":
            return upload("\n".join(line.replace(",", ";") for line in lines)), 422, "header"
        if kind == "float_labels":
            i = draw(row)
            return upload(with_line(i, f"{ident(i)},{label(i)}.0")), 422, "not an integer"
        if kind == "random_bytes":
            return upload(draw(st.binary(max_size=400))), 422, ""
        if kind == "oversized":
            padding = b"\n" * (max_bytes + 1 - len("\n".join(lines)) + draw(st.integers(0, 3000)))
            return upload(("\n".join(lines)).encode() + padding), 413, "limit"
        if kind == "bad_notebook":
            notebook = draw(st.one_of(st.binary(max_size=200), st.just(b'{"cells": {}}'), st.just(b"[]"),
                                      st.just(b"x" * (notebook_limit + 1))))
            request = upload("\n".join(lines), notebook=("model.ipynb", notebook, "application/json"))
            return request, (413 if len(notebook) > notebook_limit else 422), "notebook"
        if kind == "no_file_part":
            return {"data": {"file": "\n".join(lines)}, "headers": auth}, 400, "file"
        if kind == "wrong_field_name":
            return {"files": {"predictions": ("p.csv", "\n".join(lines).encode())}, "headers": auth}, 400, "file"
        if kind == "broken_multipart":
            body = draw(st.binary(max_size=200))
            headers = {**auth, "Content-Type": f"multipart/form-data; boundary={draw(st.sampled_from(['x', 'zz']))}"}
            return {"content": body, "headers": headers}, 400, "file"
        if kind == "json_body":
            return {"json": {"file": "\n".join(lines)}, "headers": auth}, 400, "file"
        if kind == "bad_token":
            token = draw(st.one_of(st.just(""), st.text(st.characters(min_codepoint=33, max_codepoint=126),
                                                        max_size=60), st.just(valid_token[:-1])))
            headers = {"Authorization": f"Bearer {token}".strip()} if draw(st.booleans()) else {}
            return upload("\n".join(lines), headers=headers), 401, "token"
        raise AssertionError(kind)

    kinds = ["drop_rows", "duplicate_id", "unknown_id", "label_not_integer", "label_out_of_range",
             "extra_field", "missing_field", "bad_header", "invalid_utf8", "blank_line_inside", "truncated",
             "semicolons", "float_labels", "random_bytes", "oversized", "bad_notebook", "no_file_part",
             "wrong_field_name", "broken_multipart", "json_body", "bad_token"]

    @st.composite
    def strategy(draw):
        kind = draw(st.sampled_from(kinds))
        request, status, words = mutate(kind, draw)
        return kind, request, status, words

    return strategy()
