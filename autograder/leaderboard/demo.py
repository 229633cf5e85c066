"""``make demo`` stage: run the leaderboard on SQLite with a few simulated students.

Creates ``build/leaderboard-demo.db`` from the prepared competition, starts the web app on
a free port of 127.0.0.1, submits over HTTP what five simulated students would (models of
different quality, a malformed file, a student probing single images), prints the public
board and the (still unscored) private one, then stops the server.

Run: ``python -m autograder.leaderboard.demo``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from autograder.errors import UserError
from autograder.leaderboard.client import ApiClient
from autograder.leaderboard.database import database_url
from autograder.leaderboard.roster import RosterEntry
from autograder.leaderboard.scoring import AnswerKey, read_answer_key, read_classes
from autograder.leaderboard.store import Leaderboard
from autograder.local_server import start_server, stop_server
from autograder.paths import course_root, quickdraw_dir

STUDENTS = {"ada": 0.83, "grace": 0.78, "alan": 0.71, "katherine": 0.64}  # simulated model accuracies


def _csv(ids, labels) -> bytes:
    return ("id,label\n" + "".join(f"{key},{label}\n" for key, label in zip(ids, labels, strict=True))).encode()


def _model(key, accuracy: float, rng) -> np.ndarray:
    """Predictions (one per released id) of a simulated model that is right with probability ``accuracy``."""
    truth = key.labels[key.public]
    wrong = (truth + rng.integers(1, key.n_classes, len(truth))) % key.n_classes
    return np.where(rng.random(len(truth)) < accuracy, truth, wrong)


# Attached to every simulated submission (the public board ranks only entries with a notebook);
# the demo serves with auto-verification off: simulated students have no model to re-run.
NOTEBOOK = ("simulated.ipynb", json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode())


def _post(url: str, token: str, data: bytes, name: str) -> dict:
    client = ApiClient(url, token)
    try:
        return client.submit_bytes(data, name, NOTEBOOK)[1]
    finally:
        client.close()


def _fresh_competition(db: Path) -> tuple[AnswerKey, dict[str, str], str]:
    """A new demo database from the prepared competition; (answer key, tokens by student, Ladder)."""
    data = quickdraw_dir()
    labels, classes = data / "instructor" / "competition_labels.csv", data / "competition" / "classes.txt"
    if not labels.is_file():
        raise UserError("run `autograder data quickdraw prepare competition` first (make demo-data)")
    db.parent.mkdir(exist_ok=True)
    for stale in db.parent.glob(db.name + "*"):
        stale.unlink()
    key = read_answer_key(labels, read_classes(str(classes)))
    lb = Leaderboard(database_url(db))
    lb.initialize(key, name="QuickDraw competition (demo)", daily_limit=20)
    tokens = dict(lb.add_students([RosterEntry(name) for name in [*STUDENTS, "probe-bot"]]))
    ladder = lb.settings().ladder
    lb.dispose()
    return key, tokens, ladder


def _students_submit(url: str, key: AnswerKey, tokens: dict[str, str], ladder: str) -> None:
    """What the simulated students send: two models each, a malformed file, a prober's single-image flips."""
    rng = np.random.default_rng(2019)
    print(f"\nLeaderboard running at {url}/ - submitting over HTTP:")
    for name, accuracy in STUDENTS.items():
        for attempt in range(2):  # a first model and a slightly better second one
            predictions = _csv(key.test_ids.ids, _model(key, accuracy + 0.02 * attempt, rng))
            result = _post(url, tokens[name], predictions, "predictions.csv")
            print(f"  {name:<10} -> {result['status']}: {result['message']}")
    bad = _csv(key.test_ids.ids[:-5], _model(key, 1.0, rng)[:-5]).replace(b"id,label", b"id,prediction")
    result = _post(url, tokens["katherine"], bad, "oops.csv")
    print(f"  katherine  -> {result['status']} (does not count): {result['message']}")

    base = _model(key, 0.70, rng)
    first = _post(url, tokens["probe-bot"], _csv(key.test_ids.ids, base), "base.csv")
    seen = set()
    for image in range(12):  # flip one image at a time, hoping to read its label off the board
        probe = base.copy()
        probe[image] = (probe[image] + 1) % key.n_classes
        seen.add(_post(url, tokens["probe-bot"], _csv(key.test_ids.ids, probe), f"probe{image}.csv")["public_score"])
    print(f"  probe-bot  -> base {first['public_score']:.3f}, then 12 single-image probes all reported "
          f"{sorted(seen)}: the {ladder} Ladder gives the prober nothing to learn")


def main() -> int:
    """Run the demo stage; print what happened and both boards."""
    db = course_root() / "build" / "leaderboard-demo.db"
    key, tokens, ladder = _fresh_competition(db)
    print(f"Competition: {len(key.ids)} test images ({int(key.public.sum())} public and released, the rest "
          f"private and never released), classes {', '.join(key.classes)}")

    server, url = start_server(["leaderboard", "serve", "--db", str(db), "--auto-verify-top", "0"], probe="/api/board")
    try:
        client = ApiClient(url)
        _students_submit(url, key, tokens, ladder)
        print("\nPublic board (Ladder scores; '-': unranked, see the state):")
        for row in client.board():
            rank = "-" if row["rank"] is None else row["rank"]
            print(f"  {rank:>2}. {row['student']:<10} {row['score']:.3f}  {row['submitted_at']}  {row['state']}")
        client.close()
    finally:
        stop_server(server)
    lb = Leaderboard(database_url(db))
    print("\nPrivate board: unscored until `autograder leaderboard close` re-runs each final notebook on the "
          "private half\n(these simulated students attached empty notebooks, so close would rank none of them):")
    for row in lb.board(private=True):
        score = "-" if row.score is None else f"{row.score:.4f}"
        print(f"  {'-' if row.rank is None else row.rank:>2}. {row.student:<10} {score}  {row.state}")
    lb.dispose()
    print(f"\nThe demo server at {url}/ is stopped. Serve this board again with:\n"
          f"  autograder leaderboard serve --db {db.relative_to(course_root())}")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
