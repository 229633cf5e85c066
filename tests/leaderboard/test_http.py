"""The leaderboard over real HTTP: ``autograder leaderboard serve`` (uvicorn) on 127.0.0.1,
many concurrent clients, a crash in the middle of a burst, the CLI with --url, fuzzing."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from autograder.cli import main
from autograder.leaderboard.models import DailyCount, Entrant, Upload
from autograder.leaderboard.store import Leaderboard
from tests.leaderboard.boards import csv_bytes, make_board, sqlite_url, synthetic_key
from tests.leaderboard.server import Server
from tests.leaderboard.uploads import malformed_uploads

KEY = synthetic_key(n=400)
GOOD = csv_bytes(KEY, KEY.labels)


def submit(client: httpx.Client, token: str, data: bytes = GOOD) -> httpx.Response:
    return client.post("/api/submissions", files={"file": ("predictions.csv", data, "text/csv")},
                       headers={"Authorization": f"Bearer {token}"})


def consistent(lb: Leaderboard) -> dict[str, list[int]]:
    """Check the stored counters against the rows; return submission ids per entrant name."""
    with lb.engine.connect() as conn:
        rows = conn.execute(select(Upload.id, Upload.entrant_id, Upload.seq)).all()
        entrants = {e.id: e for e in conn.execute(select(Entrant)).all()}
        daily = dict(conn.execute(select(DailyCount.entrant_id, func.sum(DailyCount.count))
                                  .group_by(DailyCount.entrant_id)).all())
    by_entrant: dict[int, list] = {}
    for row in rows:
        by_entrant.setdefault(row.entrant_id, []).append(row)
    for entrant_id, entrant in entrants.items():
        mine = by_entrant.get(entrant_id, [])
        assert entrant.n_submissions == len(mine) == daily.get(entrant_id, 0)
        assert sorted(row.seq for row in mine) == list(range(1, len(mine) + 1))
        if mine:
            assert entrant.best_submission_id in {row.id for row in mine}
    return {entrants[e].name: sorted(row.id for row in mine) for e, mine in by_entrant.items()}


def test_concurrent_submissions(db_url):
    """Every student fires more submissions than the limit, all at once, over HTTP: exactly
    ``limit`` are accepted per student, each stored once, the rest get 429, nothing else."""
    n_students, limit, per_student = 12, 5, 8
    students = [f"s{i:02d}" for i in range(n_students)]
    lb, tokens, _ = make_board(db_url, KEY, students=students, daily_limit=limit)
    jobs = [student for student in students for _ in range(per_student)]
    local = threading.local()

    def fire(student):
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=server.url, timeout=60)
        response = submit(local.client, tokens[student])
        return student, response.status_code, response.json()

    with Server(db_url) as server, ThreadPoolExecutor(24) as pool:
        results = list(pool.map(fire, jobs))
    statuses = Counter((student, status) for student, status, _ in results)
    assert statuses == Counter({**{(s, 201): limit for s in students}, **{(s, 429): per_student - limit for s in students}})
    accepted: dict[str, list[int]] = {}
    for student, status, body in results:
        if status == 201:
            accepted.setdefault(student, []).append(body["id"])
        else:
            assert body["id"] is None and "daily limit" in body["message"]
    assert consistent(lb) == {student: sorted(ids) for student, ids in accepted.items()}
    lb.dispose()


def test_a_crash_mid_burst_loses_no_acknowledged_submission(tmp_path):
    """SIGKILL the server while 8 clients submit: every 201 the clients got is in the
    database after a restart, and every counter agrees with the rows."""
    url = sqlite_url(tmp_path)
    students = [f"c{i}" for i in range(8)]
    lb, tokens, _ = make_board(url, KEY, students=students, daily_limit=100_000)
    acknowledged: list[int] = []
    unexpected: list[int] = []
    stop = threading.Event()
    server = Server(url)

    def hammer(student):
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while not stop.is_set():
                try:
                    response = submit(client, tokens[student])
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code != 201:
                    unexpected.append(response.status_code)
                    return
                acknowledged.append(response.json()["id"])

    threads = [threading.Thread(target=hammer, args=(student,)) for student in students]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 60 and not unexpected and time.monotonic() < deadline:
        stop.wait(0.02)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(30)
    server.stop()
    assert not unexpected and len(acknowledged) >= 60
    with Server(url) as restarted:  # the database opens cleanly after the crash
        assert httpx.get(restarted.url + "/api/board").status_code == 200
    stored = consistent(lb)
    all_ids = {i for ids in stored.values() for i in ids}
    assert set(acknowledged) <= all_ids and len(acknowledged) == len(set(acknowledged)) >= 60
    lb.dispose()


def test_cli_submit_and_board_against_a_server(tmp_path, capsys):
    url = sqlite_url(tmp_path)
    lb, tokens, instructor = make_board(url, KEY, students=("ada",), daily_limit=2)
    good = tmp_path / "predictions.csv"
    good.write_bytes(GOOD)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(GOOD.replace(b"id,label", b"id,class"))
    with Server(url) as server:
        assert main(["leaderboard", "submit", str(good), "--token", tokens["ada"], "--url", server.url, "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert set(result) == {"id", "status", "public_score", "message"}
        assert result["status"] == "accepted" and result["public_score"] == 1.0
        assert main(["leaderboard", "submit", str(bad), "--token", tokens["ada"], "--url", server.url, "--json"]) == 1
        result = json.loads(capsys.readouterr().out)
        assert result == {"id": None, "status": "rejected", "public_score": None,
                          "message": "line 1: the header must be exactly `id,label`, got 'id,class'"}
        assert main(["leaderboard", "submit", str(good), "--token", "lbs_wrong", "--url", server.url]) == 2
        assert "error: missing or unknown student token" in capsys.readouterr().err
        assert main(["leaderboard", "board", "--url", server.url, "--json"]) == 0
        [row] = json.loads(capsys.readouterr().out)
        assert set(row) == {"rank", "student", "score", "submitted_at", "state"} and row["student"] == "ada"
        lb.close(at=datetime(2099, 1, 31, 23, 59))  # the server reads the deadline fresh
        assert main(["leaderboard", "board", "--url", server.url]) == 0
        assert re.search(r"^Deadline: 2099-01-31 23:59 UTC \(\d+ days \d+ h left\)\.$", capsys.readouterr().out, re.M)
        assert main(["leaderboard", "submit", str(good), "--token", tokens["ada"], "--url", server.url]) == 0
        out = capsys.readouterr().out
        assert out.startswith("accepted") and "Deadline: 2099-01-31 23:59 UTC" in out
        assert main(["leaderboard", "board", "--private", "--url", server.url]) == 2
        assert "hidden until the competition closes" in capsys.readouterr().err
        assert main(["leaderboard", "board", "--private", "--url", server.url, "--token", instructor, "--json"]) == 0
        [entry, *_] = json.loads(capsys.readouterr().out)  # unscored until close re-runs its notebook
        assert entry["student"] == "ada" and entry["score"] is None and entry["rank"] is None
    assert main(["leaderboard", "board", "--url", server.url]) == 2  # the server is gone
    assert "cannot reach the leaderboard" in capsys.readouterr().err
    lb.dispose()


def test_fuzzed_uploads_over_real_http(tmp_path):
    url = sqlite_url(tmp_path)
    lb, tokens, _ = make_board(url, KEY, students=("fuzz",), max_bytes=8192, max_notebook_bytes=4096)
    with Server(url) as server, httpx.Client(base_url=server.url, timeout=30) as client:

        @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(malformed_uploads(KEY, tokens["fuzz"], 8192, 4096))
        def check(case):
            kind, request, status, words = case
            response = client.post("/api/submissions", **request)
            assert response.status_code == status, (kind, response.text[:200])
            assert words in response.json()["message"]

        check()
    assert consistent(lb) == {}
    lb.dispose()
