"""The hand-in queue kept in the database, on SQLite and PostgreSQL: under concurrent workers every
queued attempt is claimed exactly once; a result comes in only from the worker holding the row;
rows left running by a dead worker are queued again (and failed after too many tries); the hourly
limit and "one waiting" hold when a student's uploads race."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from autograder.leaderboard.attempt_queue import MAX_TRIES
from autograder.leaderboard.errors import SubmissionRejected
from tests.leaderboard.boards import make_board, sqlite_url, synthetic_key

STUDENTS = tuple(f"s{i:02d}" for i in range(12))
NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


@pytest.fixture(params=["sqlite", "postgresql"])
def queue(request, tmp_path):
    url = sqlite_url(tmp_path) if request.param == "sqlite" else request.getfixturevalue("postgresql")()
    lb, tokens, _ = make_board(url, synthetic_key(n=100), students=STUDENTS)
    lb.students = {name: lb.authenticate(token) for name, token in tokens.items()}
    yield lb
    lb.dispose()


def hand_in(lb, student: str, per_hour: int = 10):
    return lb.hand_in(lb.students[student], "xor", "xor.ipynb", "xor.ipynb", NOTEBOOK, None, per_hour)


def dead_worker() -> str:
    """The name of a worker on this host whose process has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}:gone"


def test_concurrent_workers_claim_each_attempt_exactly_once(queue):
    ids = {hand_in(queue, student).id for student in STUDENTS}
    claimed, lock = [], threading.Lock()

    def work(worker: int) -> None:
        while (got := queue.claim(f"host:{worker}:w")) is not None:
            with lock:
                claimed.append(got.id)
            assert queue.finish(f"host:{worker}:w", got.id, failed=False, score=1.0, max_score=1.0,
                                visible="{}", hidden="{}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert sorted(claimed) == sorted(ids)
    assert {a.state for a in queue.all_attempts("xor")} == {"done"} and {a.tries for a in queue.all_attempts("xor")} == {1}


def test_only_the_worker_holding_the_row_records_a_result_and_dead_workers_rows_come_back(queue):
    first = hand_in(queue, "s00")
    gone = dead_worker()
    assert queue.claim(gone).id == first.id
    assert queue.recover("host:1:me") == 1  # its process is gone: queued again at once
    assert not queue.finish(gone, first.id, failed=False, score=1.0, max_score=1.0, visible="{}", hidden="{}")
    for _ in range(MAX_TRIES - 1):
        assert queue.claim(gone).id == first.id
        queue.recover("host:1:me")
    assert queue.attempt(queue.students["s00"], first.id).state == "failed"  # tried MAX_TRIES times
    alive = hand_in(queue, "s01")
    assert queue.claim("elsewhere:1:w").id == alive.id
    assert queue.recover("host:1:me") == 0  # another host's worker with a fresh heartbeat keeps its row
    assert queue.finish("elsewhere:1:w", alive.id, failed=False, score=2.0, max_score=3.0, visible="{}", hidden="{}")
    assert queue.attempt(queue.students["s01"], alive.id).score == 2.0


def test_racing_uploads_of_one_student_leave_one_waiting_and_respect_the_hourly_limit(queue):
    def attempt(_) -> str:
        try:
            hand_in(queue, "s02", per_hour=3)
        except SubmissionRejected as exc:
            return exc.reason
        return "accepted"

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(attempt, range(6)))
    assert sorted(outcomes) == ["accepted"] + ["limit"] * 5
    for _ in range(2):  # each run started lets one more wait, up to 3 an hour
        queue.claim("host:1:w")
        assert attempt(None) == "accepted"
    queue.claim("host:1:w")
    assert attempt(None) == "limit"
    assert len(queue.attempts(queue.students["s02"], "xor")) == 3
