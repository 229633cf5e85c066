"""``autograder serve --scheduler``: handed-in attempts graded on a real Dask cluster (a scheduler and
one worker on 127.0.0.1), the same task as the local pool; kill -9 of the worker's process mid-run
and of the whole server mid-run lose no attempt and give each exactly one result, and the server's
death runs no notebook twice (its task goes on on the cluster and the restarted server joins it)."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder.local_server import stop_server
from tests.dask_cluster import DaskCluster
from tests.web.conftest import HANDIN_STUDENTS, competition_database, start_course_server
from tests.web.handin_notebooks import correct
from tests.web.test_handin import all_attempts, hand_in, poll


@pytest.fixture(scope="module")
def dask_server(tmp_path_factory, handin_course, quickdraw_root):
    """``autograder serve --scheduler`` of the hand-in course; ``.restart()`` kills -9 and starts it again."""
    folder = tmp_path_factory.mktemp("dask-handin")
    url, tokens, instructor = competition_database(folder, quickdraw_root, HANDIN_STUDENTS)
    cluster = DaskCluster(Path(tempfile.mkdtemp(prefix="dask-", dir=folder)), workers=1)
    options = ("--attempts-per-hour", "5", "--auto-verify-top", "0", "--scheduler", cluster.address)
    server = SimpleNamespace(course=handin_course, tokens=tokens, instructor=instructor, cluster=cluster)

    def restart() -> None:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
        server.process.stdout.close()
        server.process, server.url = start_course_server(url, handin_course, quickdraw_root, *options)

    server.restart = restart
    server.process, server.url = start_course_server(url, handin_course, quickdraw_root, *options)
    try:
        yield server
    finally:
        stop_server(server.process)
        server.process.stdout.close()
        cluster.close()


def test_kill_9_of_a_dask_worker_or_the_server_mid_run_grades_each_attempt_once(dask_server):
    server = dask_server
    first = hand_in(server, "erin", correct(server.course))
    assert first.status_code == 201, first.text
    poll(server, "erin", first.json()["id"], until=("running",))
    time.sleep(3)  # inside the run, on the cluster's worker
    workers = server.cluster.worker_processes()
    assert workers, "no Dask worker process found"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    now = poll(server, "erin", first.json()["id"], until=("queued", "running", "done", "failed"))
    assert now["state"] == "running"  # killed mid-run, not after it
    assert poll(server, "erin", first.json()["id"], timeout=240)["state"] == "done"  # the scheduler ran it again
    second = hand_in(server, "erin", correct(server.course))
    assert second.status_code == 201, second.text
    poll(server, "erin", second.json()["id"], until=("running",))
    time.sleep(2)
    server.restart()
    assert poll(server, "erin", second.json()["id"], timeout=240)["state"] == "done"
    rows = {a["id"]: a for a in all_attempts(server) if a["student"] == "erin"}
    assert not set(server.cluster.worker_processes()) & set(workers)  # the nanny started a fresh one
    assert set(rows) == {first.json()["id"], second.json()["id"]}
    # the first was claimed once (the scheduler re-ran its task), the second again after the restart
    assert [rows[first.json()["id"]]["tries"], rows[second.json()["id"]]["tries"]] == [1, 2]
    # ... but its notebook ran once: the restarted server joined the task the dead one had left running
    runs = [server.cluster.runs_started(f"-attempt-{first.json()['id']}"),
            server.cluster.runs_started(f"-attempt-{second.json()['id']}")]
    assert runs == [2, 1], runs
    assert rows[first.json()["id"]]["hidden"]["score"] == rows[second.json()["id"]]["hidden"]["score"] == 12
