"""Competitions for the leaderboard tests: synthetic answer keys, valid submissions, a settable
clock and a new board with its students (``make_board``); bench/ uses them too."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from autograder.leaderboard.database import database_url
from autograder.leaderboard.roster import RosterEntry
from autograder.leaderboard.scoring import AnswerKey
from autograder.leaderboard.store import Leaderboard

CLASSES = ("apple", "bicycle", "cat", "eye", "fish")


def synthetic_key(n: int = 400, n_classes: int = 5, seed: int = 0) -> AnswerKey:
    """A random answer key: opaque ids, balanced labels, alternate rows public (stratified)."""
    rng = np.random.default_rng(seed)
    ids = [f"q{number:05d}" for number in rng.choice(max(100_000, 2 * n), size=n, replace=False)]
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
        for key_id, label, public in zip(key.ids, key.labels, key.public, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def csv_bytes(key: AnswerKey, labels, order=None) -> bytes:
    """A valid submission for the released ids (the public half's) as ``id,label`` rows in ``order``
    (positions among the released ids; default: their order). ``labels`` holds one label per
    released id, or one per key id (the private half's are then left out: never released)."""
    labels = np.asarray(labels)
    if len(labels) == len(key.ids):
        labels = labels[key.public]
    shown = key.test_ids.ids
    order = range(len(shown)) if order is None else order
    return rows_csv([shown[i] for i in order], [labels[i] for i in order])


def rows_csv(ids, labels) -> bytes:
    """``id,label`` rows, one per id: e.g. what a notebook writes for a verification set."""
    return ("id,label\n" + "".join(f"{key_id},{int(label)}\n" for key_id, label in zip(ids, labels, strict=True))).encode()


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


def with_accuracy(key: AnswerKey, accuracy: float, seed: int = 0) -> np.ndarray:
    """Predictions (one per key id) with exactly ``accuracy`` on the public half, the released one
    (the private half's images are not released, so no upload predicts them: left right)."""
    rng = np.random.default_rng(seed)
    predictions = key.labels.copy()
    rows = np.flatnonzero(key.public)
    wrong = rng.choice(rows, size=round(len(rows) * (1 - accuracy)), replace=False)
    predictions[wrong] = (predictions[wrong] + 1) % key.n_classes
    return predictions
