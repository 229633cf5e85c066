"""Handing homework in on the course server, over real HTTP (``autograder serve`` on 127.0.0.1),
graded by the real sandbox from the real released xor notebook: the visible results appear by
polling, the hidden ones only once the instructor releases them; a refused file stores nothing;
nobody reaches another student's attempt; flooding is refused; a hostile notebook earns nothing
and spoils nobody's run; kill -9 of a grading process or of the whole server loses no attempt
and grades each once."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import httpx

from tests.web.handin_notebooks import PAST_DUE, broken, correct, hostile, released

FINISHED = ("done", "failed")
CHECK_NAMES = ("test_relu_model_fits_xor", "test_make_xor_data_shapes_and_corners")  # hidden checks of xor


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def hand_in(server, student: str, data: bytes, name: str = "xor", filename: str = "xor.ipynb") -> httpx.Response:
    return httpx.post(f"{server.url}/api/assignments/{name}/attempts", headers=bearer(server.tokens[student]),
                      files={"notebook": (filename, data, "application/x-ipynb+json")}, timeout=30)


def poll(server, student: str, attempt_id: int, until=FINISHED, timeout: float = 150) -> dict:
    """The attempt as its student sees it, polled until its state is one of ``until``."""
    give_up = time.monotonic() + timeout
    while True:
        reply = httpx.get(f"{server.url}/api/attempts/{attempt_id}", headers=bearer(server.tokens[student]), timeout=30)
        assert reply.status_code == 200, reply.text
        attempt = reply.json()
        if attempt["state"] in until:
            return attempt
        assert time.monotonic() < give_up, f"attempt {attempt_id} still {attempt['state']}"
        time.sleep(0.3)


def history(server, student: str, name: str = "xor") -> dict:
    reply = httpx.get(f"{server.url}/api/assignments/{name}/attempts", headers=bearer(server.tokens[student]))
    assert reply.status_code == 200, reply.text
    return reply.json()


def all_attempts(server, name: str = "xor") -> list[dict]:
    reply = httpx.get(f"{server.url}/api/instructor/assignments/{name}/attempts", headers=bearer(server.instructor))
    assert reply.status_code == 200, reply.text
    return reply.json()


def set_feedback(server, name: str, **change) -> None:
    reply = httpx.put(f"{server.url}/api/instructor/assignments/{name}/feedback", headers=bearer(server.instructor),
                      json=change)
    assert reply.status_code == 200, reply.text


def test_refused_files_store_nothing_and_count_against_nothing(handin_server):
    server, token = handin_server, handin_server.tokens["alice"]
    good = correct(server.course)
    refusals = {
        "binary": (b"\x89PNG this is not a notebook {", "xor.ipynb", 422, "not UTF-8"),
        "not json": (b"this is not a notebook {", "xor.ipynb", 422, "not a Jupyter notebook"),
        "truncated": (good[: len(good) // 2], "xor.ipynb", 422, "not a Jupyter notebook"),
        "oversized": (b" " * (8 * 1024 * 1024 + 1), "xor.ipynb", 413, "larger than"),
        "another assignment": (json.dumps(released(server.course, "mlp_scratch")).encode(), "xor.ipynb", 422,
                               "not a xor notebook"),
        "empty": (b"", "xor.ipynb", 422, "empty"),
    }
    for case, (data, filename, status, says) in refusals.items():
        reply = hand_in(server, "alice", data, filename=filename)
        assert reply.status_code == status, (case, reply.text)
        assert says in reply.json()["detail"], (case, reply.text)
    for filename in ("../../../etc/xor.ipynb", "..\\xor.ipynb", "sub/xor.ipynb", ".xor.ipynb", "xor.txt"):
        reply = httpx.post(f"{server.url}/api/assignments/xor/attempts", content=good, timeout=30,
                           headers={**bearer(token), "Content-Type": "application/x-ipynb+json", "X-Filename": filename})
        assert reply.status_code == 400, (filename, reply.text)
    for filename in ("../../xor.ipynb", "/etc/xor.ipynb", "x\u202eor.ipynb", "xor\u2028.ipynb"):
        reply = hand_in(server, "alice", good, filename=filename)
        assert reply.status_code == 400, (filename, reply.text)
    for who, expected in ((bearer(server.instructor), 401), ({}, 401), (bearer("forged"), 401)):
        reply = httpx.post(f"{server.url}/api/assignments/xor/attempts", headers=who,
                           files={"notebook": ("xor.ipynb", good)})
        assert reply.status_code == expected, reply.text
    with httpx.Client(base_url=server.url, cookies={"lb_token": token}, timeout=30) as browser:
        page = browser.get("/assignments")
        csrf = re.search(r'name="csrf" value="(\w+)"', page.text).group(1)
        forged = browser.post("/assignments/xor/attempts", files={"notebook": ("xor.ipynb", good)},
                              data={"csrf": "forged"}, follow_redirects=False)
        assert forged.status_code == 403
        wrong = browser.post("/assignments/xor/attempts", files={"notebook": ("xor.ipynb", b"{")},
                             data={"csrf": csrf}, follow_redirects=False)
        assert wrong.status_code == 422 and 'id="error"' in wrong.text and "not a Jupyter notebook" in wrong.text
    unknown = hand_in(server, "alice", good, name="no_such_assignment")
    assert unknown.status_code == 404
    assert history(server, "alice")["attempts"] == []
    assert not (server.course / "submitted").exists()


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident set size (VmHWM) since it was last reset."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))


def test_a_200_mb_notebook_is_refused_without_the_server_holding_it(handin_server):
    server, pid, mib = handin_server, handin_server.process.pid, 1024 * 1024

    def body(chunks: int = 200):
        yield b'{"cells": [{"source": "'
        for _ in range(chunks):
            yield b"x" * mib

    url = f"{server.url}/api/assignments/xor/attempts"
    headers = {**bearer(server.tokens["erin"]), "Content-Type": "application/x-ipynb+json", "X-Filename": "xor.ipynb"}
    for declared in (True, False):  # a Content-Length that says 200 MB, and a chunked body that never says
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        before = peak_rss_kib(pid)
        sent = {**headers, "Content-Length": str(200 * mib + 23)} if declared else headers
        try:
            reply = httpx.post(url, content=body(), headers=sent, timeout=60)
        except httpx.HTTPError:  # the server may close the connection while the body is still coming
            reply = None
        grew = (peak_rss_kib(pid) - before) // 1024
        assert grew < 48, f"the server's peak RSS grew by {grew} MiB on a 200 MiB upload (declared={declared})"
        if reply is not None:
            assert reply.status_code == 413 and "larger than" in reply.json()["detail"], reply.text
    assert history(server, "erin")["attempts"] == []


def test_visible_results_by_polling_hidden_ones_after_release(handin_server):
    server = handin_server
    first = hand_in(server, "alice", correct(server.course))
    assert first.status_code == 201, first.text
    second = hand_in(server, "bob", broken(server.course))
    assert second.status_code == 201, second.text
    alice_id, bob_id = first.json()["id"], second.json()["id"]
    assert first.json()["state"] == "queued" and first.json()["graded"] is True
    seen = {poll(server, "alice", alice_id, until=("running", *FINISHED))["state"]}
    good = poll(server, "alice", alice_id)
    bad = poll(server, "bob", bob_id)
    assert seen & {"running", "done"} and good["state"] == bad["state"] == "done"
    assert [t["cell"] for t in good["visible"]["tests"]] == ["test_make_xor_data", "test_xor_net_structure",
                                                              "test_xor_net_forward", "test_train_xor",
                                                              "test_trained_models"]
    assert all(t["passed"] for t in good["visible"]["tests"]) and good["visible"]["cell_errors"] == []
    assert 0 < good["visible"]["seconds"] < 120
    failed = {t["cell"]: t for t in bad["visible"]["tests"] if not t["passed"]}
    assert "test_make_xor_data" in failed and failed["test_make_xor_data"]["error"]
    for reply in (good, bad):  # nothing of the hidden checks before the release
        assert reply["hidden"] is None and "releases feedback" in reply["hidden_status"]
        assert "score" not in json.dumps(reply) and not any(name in json.dumps(reply) for name in CHECK_NAMES)
    page = httpx.get(f"{server.url}/attempts/{alice_id}", cookies={"lb_token": server.tokens["alice"]})
    assert page.status_code == 200 and not any(name in page.text for name in CHECK_NAMES)
    set_feedback(server, "xor", released=True)
    good, bad = poll(server, "alice", alice_id), poll(server, "bob", bob_id)
    assert good["hidden"]["score"] == good["hidden"]["max_score"] == 12
    assert bad["hidden"]["score"] == 10
    assert {c["name"] for c in bad["hidden"]["checks"] if c["points"] == 0} == {
        "test_make_xor_data_shapes_and_corners", "test_make_xor_data_seed_and_noise"}
    set_feedback(server, "xor", released=False)
    assert poll(server, "alice", alice_id)["hidden"] is None
    folder = server.course / "submitted" / "alice" / "xor"
    assert (folder / "xor.ipynb").read_bytes() == correct(server.course)
    assert (folder / "timestamp.txt").read_text().endswith(" UTC")


def test_no_one_reaches_another_students_attempt(handin_server):
    server = handin_server
    alice_id = history(server, "alice")["attempts"][0]["id"]
    assert httpx.get(f"{server.url}/api/attempts/{alice_id}", headers=bearer(server.tokens["bob"])).status_code == 404
    assert httpx.get(f"{server.url}/attempts/{alice_id}/status",
                     cookies={"lb_token": server.tokens["bob"]}).status_code == 404
    pick = httpx.put(f"{server.url}/api/assignments/xor/graded", headers=bearer(server.tokens["bob"]),
                     json={"attempt_id": alice_id})
    assert pick.status_code == 404
    assert httpx.get(f"{server.url}/api/attempts/{alice_id}", headers=bearer("forged")).status_code == 401
    assert httpx.put(f"{server.url}/api/instructor/assignments/xor/feedback", headers=bearer(server.tokens["bob"]),
                     json={"released": True}).status_code == 403
    mine = httpx.get(f"{server.url}/api/attempts/{alice_id}", headers=bearer(server.instructor))
    assert mine.status_code == 200 and mine.json()["student"] == "alice"


def test_flooding_is_refused_with_429_and_stores_nothing(handin_server):
    server = handin_server
    busy = hand_in(server, "carol", correct(server.course))  # keeps the one grading process busy ...
    assert busy.status_code == 201, busy.text
    poll(server, "carol", busy.json()["id"], until=("running",))
    blank = json.dumps(released(server.course)).encode()
    first = hand_in(server, "dave", blank)  # ... so that this one is still queued when the next comes
    assert first.status_code == 201, first.text
    waiting = hand_in(server, "dave", blank)
    assert waiting.status_code == 429 and "waiting to be graded" in waiting.json()["detail"]
    poll(server, "dave", first.json()["id"], until=("running", *FINISHED))
    second = hand_in(server, "dave", blank)
    assert second.status_code == 201, second.text
    poll(server, "dave", second.json()["id"], until=("running", *FINISHED))
    over = hand_in(server, "dave", blank)
    assert over.status_code == 429 and "2 attempts per hour" in over.json()["detail"]
    assert [a["id"] for a in history(server, "dave")["attempts"]] == [second.json()["id"], first.json()["id"]]
    poll(server, "dave", second.json()["id"])


def test_a_late_attempt_is_in_nbgraders_layout_and_a_practice_one_shows_hidden_results(handin_server, run_cli,
                                                                                          tmp_path):
    server = handin_server
    set_feedback(server, "activations", practice=True)
    data = json.dumps(released(server.course, "activations")).encode()
    (tmp_path / "my copy.ipynb").write_bytes(data)
    (tmp_path / "xor.ipynb").write_bytes(b"{ not a notebook")
    cli = ("--url", server.url, "--token", server.tokens["frank"])
    refused = run_cli("submit", "xor", tmp_path / "xor.ipynb", *cli)
    assert refused.returncode == 1 and refused.stdout.startswith("rejected: xor.ipynb: not a Jupyter notebook")
    handed = run_cli("submit", "activations", tmp_path / "my copy.ipynb", *cli, "--json")
    assert handed.returncode == 0, handed.stderr
    result = json.loads(handed.stdout)
    assert result["late"] is True and result["notebook"] == "activations.ipynb" and result["state"] == "done"
    assert result["hidden_status"] == "practice" and result["hidden"]["score"] == 0 and result["hidden"]["checks"]
    folder = server.course / "submitted" / "frank" / "activations"
    stamp = (folder / "timestamp.txt").read_text()
    assert (folder / "activations.ipynb").read_bytes() == data and stamp > str(PAST_DUE) and stamp.endswith(" UTC")
    again = run_cli("submit", "activations", tmp_path / "my copy.ipynb", *cli)  # printed as the page shows it
    assert again.returncode == 0, again.stderr
    assert " at activations, handed in " in again.stdout and "(late): done" in again.stdout
    assert "hidden checks: 0 / " in again.stdout and "its own tests:" in again.stdout
    attempts = history(server, "frank", "activations")["attempts"]
    assert len(attempts) == 2 and attempts[1]["id"] == result["id"]  # the refused file counted for nothing


def test_a_hostile_notebook_earns_nothing_and_spoils_no_other_run(handin_server):
    server = handin_server
    evil = hand_in(server, "carol", hostile(server.course))
    honest = hand_in(server, "bob", correct(server.course))
    assert evil.status_code == honest.status_code == 201
    set_feedback(server, "xor", released=True)
    evil_result = poll(server, "carol", evil.json()["id"])
    honest_result = poll(server, "bob", honest.json()["id"])
    assert evil_result["state"] == "done" and evil_result["hidden"]["score"] == 0
    assert not any(t["passed"] for t in evil_result["visible"]["tests"])
    assert honest_result["hidden"]["score"] == 12 and all(t["passed"] for t in honest_result["visible"]["tests"])
    assert history(server, "bob")["graded"] == honest.json()["id"]  # the latest on time counts
    graded = [(a["student"], a["id"]) for a in all_attempts(server) if a["graded"]]  # the instructor's view: the same
    assert len(graded) == len({student for student, _ in graded}) and ("bob", honest.json()["id"]) in graded
    set_feedback(server, "xor", released=False)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _grading_processes(server_pid: int) -> list[int]:
    """The pool's worker processes: the children of the server's multiprocessing forkserver."""
    workers = []
    for child in _children(server_pid):
        if b"forkserver" in Path(f"/proc/{child}/cmdline").read_bytes():
            workers += _children(child)
    return workers


def _grading_processes_once_started(server_pid: int, timeout: float = 60.0) -> list[int]:
    """The pool's worker processes, waiting for them: a fresh server starts its pool (which preloads
    torch) only when the first attempt is claimed, so "running" can come before the process."""
    give_up = time.monotonic() + timeout
    while not (workers := _grading_processes(server_pid)) and time.monotonic() < give_up:
        time.sleep(0.2)
    assert workers, "no grading process found"
    return workers


def test_kill_9_of_a_worker_or_the_server_mid_run_grades_each_attempt_once(handin_server):
    server = handin_server
    first = hand_in(server, "erin", correct(server.course))
    assert first.status_code == 201, first.text
    poll(server, "erin", first.json()["id"], until=("running",))
    workers = _grading_processes_once_started(server.process.pid)
    time.sleep(2)  # inside the run
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    done = poll(server, "erin", first.json()["id"])
    assert done["state"] == "done"
    second = hand_in(server, "erin", correct(server.course))
    assert second.status_code == 201, second.text
    poll(server, "erin", second.json()["id"], until=("running",))
    time.sleep(2)
    server.restart(kill=True)
    assert poll(server, "erin", second.json()["id"])["state"] == "done"
    rows = {a["id"]: a for a in all_attempts(server) if a["student"] == "erin"}
    assert [rows[first.json()["id"]]["tries"], rows[second.json()["id"]]["tries"]] == [2, 2]
    assert rows[first.json()["id"]]["hidden"]["score"] == rows[second.json()["id"]]["hidden"]["score"] == 12
