"""Automatic verification while the leaderboard serves: entries that enter the top of the board
have their notebooks re-run on the verification set without anyone running ``verify``.

With a scripted runner standing in for the sandbox (each notebook's code names what its run
writes): a looked-up entry that enters the top is marked not reproducible and loses its rank, an
honest one is verified, an entry without a notebook is listed as such (and ranks once the same
file comes with its notebook), a run that crashes is that entry's failure and the worker carries
on, and the server answers while a slow run is in progress. Then once through the real sandbox
and the real prepared competition: memorised labels on the public board, shown not reproducible
over HTTP by the ``serve`` process itself.
"""

from __future__ import annotations

import csv
import statistics
import threading
import time

import httpx
import nbformat
import numpy as np
import uvicorn
from sqlalchemy import select

from autograder.leaderboard import validate
from autograder.leaderboard.autoverify import AutoVerifier, verify_pending
from autograder.leaderboard.models import Entrant
from autograder.leaderboard.scoring import read_answer_key, read_classes
from autograder.leaderboard.store import Leaderboard
from autograder.leaderboard.verify import Check, SwapSet
from autograder.local_server import free_port
from autograder.web.app import create_app
from tests.leaderboard.boards import Clock, csv_bytes, make_board, rows_csv, sqlite_url, synthetic_key
from tests.leaderboard.server import Server

KEY = synthetic_key(n=400)
SWAP = synthetic_key(n=400, seed=1)  # the verification set: other ids, other labels


def wrong_on(labels: np.ndarray, accuracy: float, n_classes: int) -> np.ndarray:
    """A copy of ``labels``, wrong on a fixed random ``1 - accuracy`` share of them."""
    labels = labels.copy()
    wrong = np.random.default_rng(7).permutation(len(labels))[: round(len(labels) * (1 - accuracy))]
    labels[wrong] = (labels[wrong] + 1) % n_classes
    return labels


def answers(key, accuracy: float) -> bytes:
    """An upload for ``key`` (its released ids), right on ``accuracy`` of them."""
    return csv_bytes(key, wrong_on(key.labels[key.public], accuracy, key.n_classes))


def rerun(accuracy: float) -> bytes:
    """What a notebook writes on the verification set (every id of ``SWAP``), right on ``accuracy`` of it."""
    return rows_csv(SWAP.ids, wrong_on(SWAP.labels, accuracy, SWAP.n_classes))


def notebook(code: str) -> bytes:
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])).encode()


class ScriptedRunner:
    """Plays the sandbox: a notebook's run writes ``outputs[its code]`` (or raises it); with
    ``gate`` each run first signals ``started`` and waits until the gate opens."""

    def __init__(self, outputs: dict[str, bytes | Exception], gate: threading.Event | None = None):
        self.outputs, self.gate, self.started, self.ran = outputs, gate, threading.Event(), []

    def __call__(self, code_only: bytes, competition_dir, test_dir) -> bytes:
        code = "".join(cell.source for cell in nbformat.reads(code_only.decode(), as_version=4).cells)
        self.ran.append(code)
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(60), "the test never opened the gate"
        outcome = self.outputs[code]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def check_with(runner, tmp_path) -> Check:
    return Check(runner, tmp_path, SwapSet(tmp_path, validate.TestIds(SWAP.ids), SWAP.labels), tolerance=0.01)


def standings(lb) -> list[tuple]:
    return [(row.rank, row.student, row.state) for row in lb.standings()]


def wait_for(condition, seconds: float = 30.0, every: float = 0.05):
    """Poll ``condition()`` until it returns something true (bounded); return that."""
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, f"not reached within {seconds} s"
        time.sleep(every)
    return result


def test_worker_keeps_the_top_verified(tmp_path):
    students = ("ann", "cid", "dee", "ben", "eve", "fay")
    lb, tokens, _ = make_board(sqlite_url(tmp_path), KEY, students=students, clock=Clock())
    runner = ScriptedRunner({
        "looked up": rerun(0.2),  # perfect on the board, chance on drawings it never saw
        "crashes": RuntimeError("the sandbox fell over"),
        "trains b": rerun(0.88), "trains e": rerun(0.84), "trains c": rerun(0.94),
    })
    entries = {"ann": (1.0, "looked up"), "cid": (0.95, None), "dee": (0.93, "crashes"), "ben": (0.9, "trains b"),
               "eve": (0.85, "trains e"), "fay": (0.8, "trains f")}
    for name, (accuracy, code) in entries.items():
        lb.submit(lb.authenticate(tokens[name]), answers(KEY, accuracy), notebook=code and notebook(code))
    assert standings(lb)[:2] == [(1, "ann", "pending"), (2, "dee", "pending")]

    lines: list[str] = []
    verifier = AutoVerifier(Leaderboard(lb.url), 2, check_with(runner, tmp_path), poll_seconds=0.05,
                            report=lines.append).start()
    wait_for(lambda: [state for _, _, state in standings(lb)[:2]] == ["verified", "verified"])
    assert standings(lb) == [(1, "ben", "verified"), (2, "eve", "verified"), (3, "fay", "pending"),
                             (None, "ann", "not reproducible"), (None, "cid", "no notebook"),
                             (None, "dee", "not reproducible")]
    # one run per entry that reached the top two, in board order; none for cid (no notebook) or fay
    assert runner.ran == ["looked up", "crashes", "trains b", "trains e"]
    details = {row.student: lb.submission_for_verify(row.submission_id) for row in lb.board()}
    assert all(stored[2] == "unverified" for name, stored in details.items() if name in ("cid", "fay"))
    assert any("#1 ann" in line and "verification-set accuracy 0.2000 vs 1.0000" in line for line in lines), lines
    assert any("dee" in line and "crashed (RuntimeError: the sandbox fell over)" in line for line in lines), lines

    # cid sends the same file again with its notebook: it stands for the entry, is checked, ranks
    again = lb.submit(lb.authenticate(tokens["cid"]), answers(KEY, 0.95), notebook=notebook("trains c"))
    assert not again.moved and "stand for your entry" in again.message
    verifier.wake()
    wait_for(lambda: standings(lb)[0] == (1, "cid", "verified"))
    assert runner.ran[-1] == "trains c" and standings(lb)[3] == (4, "fay", "pending")
    assert verifier.stop()
    lb.dispose()


def test_no_notebook_is_listed_unranked_everywhere(tmp_path, run_cli):
    lb, tokens, _ = make_board(sqlite_url(tmp_path), KEY, students=("ann", "ben"), clock=Clock())
    first = lb.submit(lb.authenticate(tokens["ann"]), answers(KEY, 0.9))
    assert "no notebook attached" in first.message
    lb.submit(lb.authenticate(tokens["ben"]), answers(KEY, 0.7), notebook=notebook("trains"))
    assert [row.as_json()["rank"] for row in lb.standings()] == [1, None]
    assert [row.as_json()["state"] for row in lb.standings()] == ["pending", "no notebook"]
    assert [row.rank for row in lb.standings(private=True)] == [None, None]  # ranked once close re-runs them
    shown = run_cli("leaderboard", "board", "--db", lb.url)
    lines = shown.stdout.splitlines()
    assert shown.returncode == 0 and "verification" in lines[1]
    assert lines[2].split()[:2] == ["1", "ben"] and lines[2].split()[3] == "pending"
    assert lines[3].split()[:2] == ["-", "ann"] and lines[3].split()[3:5] == ["no", "notebook"]
    assert "Unranked (-)" in shown.stdout
    # nothing to run for ann: with two places to fill, only ben's notebook runs, and only once
    runner = ScriptedRunner({"trains": rerun(0.7)})
    check = check_with(runner, tmp_path)
    assert [(o.student, o.status) for o in verify_pending(lb, 2, check)] == [("ben", "verified")]
    assert verify_pending(lb, 2, check) == [] and runner.ran == ["trains"]
    # another file with a notebook leaves ann's best (and her rank) alone; the same file takes its place
    ann = lb.authenticate(tokens["ann"])
    assert not lb.submit(ann, answers(KEY, 0.5), notebook=notebook("guesses")).moved
    assert standings(lb)[1] == (None, "ann", "no notebook")
    twin = lb.submit(ann, answers(KEY, 0.9), notebook=notebook("trains a"))
    assert "stand for your entry" in twin.message and standings(lb)[0] == (1, "ann", "pending")
    with lb.engine.connect() as conn:  # the twin was no try against the best: one try counted, not two
        assert conn.execute(select(Entrant.since_best).where(Entrant.name == "ann")).scalar_one() == 1
    lb.dispose()


def test_once_closed_the_worker_still_checks_the_public_board_only(tmp_path):
    # the private board is decided by close's re-runs on the private half, not by this worker
    lb, tokens, _ = make_board(sqlite_url(tmp_path), KEY, students=("ann", "ben"), clock=Clock())
    ann = lb.authenticate(tokens["ann"])
    lb.submit(ann, answers(KEY, 0.9), notebook=notebook("best public"))
    final = lb.submit(ann, answers(KEY, 0.6), notebook=notebook("picked"))
    lb.select_final(ann, final.id)
    lb.close()
    runner = ScriptedRunner({"best public": rerun(0.9)})
    lines: list[str] = []
    verifier = AutoVerifier(Leaderboard(lb.url), 1, check_with(runner, tmp_path), poll_seconds=0.05,
                            report=lines.append).start()
    wait_for(lambda: lb.standings()[0].state == "verified")
    assert verifier.stop() and runner.ran == ["best public"]  # the public board's entry, not the picked one
    assert "on the public half" in lines[0]
    [final_entry] = lb.standings(private=True)
    assert (final_entry.submission_id, final_entry.rank, final_entry.state) == (final.id, None, "pending")
    lb.dispose()


class ServedApp:
    """``create_app`` under uvicorn in a thread of this process, on 127.0.0.1."""

    def __init__(self, lb: Leaderboard):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(lb, refresh_seconds=0.5), host="127.0.0.1",
                                                    port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, seconds=30)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def timed_get(client: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    response = client.get(path)
    return response, time.perf_counter() - start


def test_server_answers_during_a_slow_run(tmp_path):
    url = sqlite_url(tmp_path)
    lb, tokens, _ = make_board(url, KEY, students=("ann", "ben"), clock=Clock())
    gate = threading.Event()
    runner = ScriptedRunner({"trains": rerun(0.9)}, gate=gate)
    app = ServedApp(lb)
    verifier = AutoVerifier(Leaderboard(url), 3, check_with(runner, tmp_path), poll_seconds=0.05,
                            report=lambda line: None).start()
    try:
        with httpx.Client(base_url=app.url, timeout=10) as client:
            sent = client.post("/api/submissions", headers={"Authorization": f"Bearer {tokens['ann']}"},
                               files={"file": ("p.csv", answers(KEY, 0.9), "text/csv"),
                                      "notebook": ("ann.ipynb", notebook("trains"), "application/json")})
            assert sent.status_code == 201
            assert runner.started.wait(30)  # the run is in progress, held at the gate
            during = [timed_get(client, "/api/board") for _ in range(40)] + [timed_get(client, "/")]
            other = client.post("/api/submissions", headers={"Authorization": f"Bearer {tokens['ben']}"},
                                files={"file": ("p.csv", answers(KEY, 0.6), "text/csv")})
            board = client.get("/api/board").json()
            assert not gate.is_set() and all(r.status_code == 200 for r, _ in during) and other.status_code == 201
            assert [(row["student"], row["rank"], row["state"]) for row in board] == [
                ("ann", 1, "pending"), ("ben", None, "no notebook")]
            gate.set()
            wait_for(lambda: client.get("/api/board").json()[0]["state"] == "verified")
            quiet = [timed_get(client, "/api/board") for _ in range(40)]  # for comparison: no run in progress
            assert "verified" in client.get("/").text
        latencies = sorted(seconds for _, seconds in during[:40])
        print(f"\n/api/board during a held run: median {statistics.median(latencies) * 1000:.1f} ms, "
              f"max {latencies[-1] * 1000:.1f} ms; with no run: median "
              f"{statistics.median(s for _, s in quiet) * 1000:.1f} ms")
        # stopping while a run is in progress does not wait for it beyond the grace
        gate.clear()
        runner.started.clear()
        lb.submit(lb.authenticate(tokens["ben"]), answers(KEY, 0.6), notebook=notebook("trains"))
        verifier.wake()
        assert runner.started.wait(30)
        assert verifier.stop(grace=0.2) is False  # still in its run: left to end with the process
        assert [row.state for row in lb.standings()][:2] == ["verified", "pending"]
    finally:
        gate.set()
        verifier.stop()
        app.stop()
        lb.dispose()


def test_serve_without_a_verification_set_says_so_and_serves(tmp_path, run_cli):
    url = sqlite_url(tmp_path)
    make_board(url, KEY)[0].dispose()
    competition = tmp_path / "competition"
    competition.mkdir()
    (competition / "train.csv").write_text("filename,label\n")
    options = ("--auto-verify-top", "3", "--competition-dir", competition, "--verification-dir", tmp_path / "nowhere")
    with Server(url, options=options) as server:
        assert httpx.get(server.url + "/api/board").status_code == 200
    notices = [line for line in server.output.splitlines() if "auto-verif" in line]
    assert len(notices) == 1 and notices[0].startswith("auto-verification is off: no verification set"), server.output
    bad = run_cli("leaderboard", "serve", "--db", url, "--auto-verify-top", "-1")
    assert bad.returncode == 2 and "must be 0 or more" in bad.stderr
    helped = run_cli("leaderboard", "serve", "--help")
    words = " ".join(helped.stdout.split())
    assert "--auto-verify-top K" in words and "0 turns it off" in words


# Labels memorised for the released test images, written for whatever ids the test folder lists.
MEMORISED = """
import csv, os
from pathlib import Path
TEST = Path(os.environ.get("QUICKDRAW_COMPETITION_TEST", os.environ.get("QUICKDRAW_COMPETITION", "competition")))
KNOWN = __KNOWN__
with open(TEST / "test.csv", newline="") as f:
    ids = [row["id"] for row in csv.DictReader(f)]
with open("predictions.csv", "w") as out:
    out.write("id,label\\n" + "".join(f"{i},{KNOWN.get(i, 0)}\\n" for i in ids))
"""


def test_served_board_flags_memorised_labels_by_itself(quickdraw_root, tmp_path):
    classes = read_classes(str(quickdraw_root / "competition" / "classes.txt"))
    key = read_answer_key(quickdraw_root / "instructor" / "competition_labels.csv", classes)
    with open(quickdraw_root / "competition" / "test.csv", newline="") as f:
        assert [row["id"] for row in csv.DictReader(f)] == list(key.test_ids.ids)  # the public half, in id order
    url = sqlite_url(tmp_path)
    lb, tokens, _ = make_board(url, key, students=("memoriser",))
    code = MEMORISED.replace("__KNOWN__", repr({i: int(label) for i, label in zip(key.ids, key.labels, strict=True)}))
    options = ("--auto-verify-top", "3", "--timeout", "300", "--competition-dir", quickdraw_root / "competition",
               "--verification-dir", quickdraw_root / "instructor" / "competition_verification")
    with Server(url, refresh=0.5, options=options) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        sent = client.post("/api/submissions", headers={"Authorization": f"Bearer {tokens['memoriser']}"},
                           files={"file": ("predictions.csv", csv_bytes(key, key.labels), "text/csv"),
                                  "notebook": ("entry.ipynb", notebook(code), "application/json")})
        assert sent.status_code == 201 and sent.json()["public_score"] == 1.0
        start, latencies, states = time.monotonic(), [], []
        while time.monotonic() - start < 120:
            response, seconds = timed_get(client, "/api/board")
            [row] = response.json()
            latencies.append(seconds)
            states.append(row["state"])
            if row["state"] != "pending":
                break
            time.sleep(0.2)
        took = time.monotonic() - start
        page = client.get("/").text
    print(f"\nauto-verification of the memorised notebook: {took:.1f} s from the upload to the board; "
          f"/api/board meanwhile: {len(latencies)} requests, median {statistics.median(latencies) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")
    assert server.process.returncode == 0  # SIGTERM: uvicorn's shutdown, then the verifier's stop, then exit
    assert states[0] == "pending" and row == {**row, "rank": None, "state": "not reproducible", "score": 1.0}
    assert "not reproducible" in page
    [line] = [line for line in server.output.splitlines() if line.startswith("auto-verify: #1 memoriser")]
    print(line)
    assert "not_reproducible - verification-set accuracy" in line
    accuracy = float(line.split("verification-set accuracy ")[1].split()[0])
    assert accuracy < 0.3  # nothing to look up on drawings it never saw: chance is 0.2
    stored = lb.submission_for_verify(sent.json()["id"])
    assert stored[2] == "not_reproducible"
    lb.dispose()
