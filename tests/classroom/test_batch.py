"""Grading at scale: a bad submission only hurts itself, a worker crash only its submission,
kill -9 mid-batch then a rerun grades each submission exactly once, and a real Dask cluster
(scheduler + two workers on 127.0.0.1, PostgreSQL gradebook) grades like the local pool - both
an nbgrader-style assignment and one graded by the hidden checks."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.classroom.course import Course
from autograder.classroom.grade_class import grade_class, run_local
from autograder.classroom.gradebook import ResultStore
from autograder.classroom.simulate import simulated_class, write_class
from autograder.classroom.worker import grade_task, make_payload
from tests.courses.legacy import (
    ANSWERS_CORRECT,
    ANSWERS_PARTLY,
    ASSIGNMENT,
    REPO,
    answered,
    auto_scores,
    copy_course,
    db_url,
    grade,
    submit,
)
from tests.dask_cluster import DaskCluster

QUICK = {"limits": {"cell_timeout": 4, "notebook_timeout": 40, "startup_timeout": 60}}


def _released(root: Path) -> Path:
    return root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def test_a_bad_submission_only_hurts_itself(released_course, tmp_path):
    root = copy_course(released_course, tmp_path / "course")
    nb = _released(root)
    submit(root, "correct", answered(nb, ANSWERS_CORRECT))
    submit(root, "partly", answered(nb, ANSWERS_PARTLY))
    submit(root, "exits", answered(nb, {"add": "import os\nos._exit(3)\n"}))
    hang = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n\ndef mean(xs):\n    while True:\n        pass\n"
    submit(root, "hangs", answered(nb, {**ANSWERS_CORRECT, "mean": hang}))
    submit(root, "garbage", b"\x00\xff this is not a notebook")
    submit(root, "empty", b"")
    submit(root, "jsonish", json.dumps({"cells": "nope"}).encode())
    report = grade(root, workers=2, seed=5, options=QUICK)
    by = {r.student: r for r in report.results}
    assert {s: r.score for s, r in by.items()} == {"correct": 7, "partly": 3, "exits": 0, "hangs": 2,
                                                      "garbage": 0, "empty": 0, "jsonish": 0}
    assert {s for s, r in by.items() if r.status == "error"} == {"garbage", "empty", "jsonish"}
    assert "not a readable notebook" in by["garbage"].error
    hangs = {c.cell: c.outcome for c in by["hangs"].checks}
    assert hangs == {"test_add": "passed", "test_mean": "timeout", "test_partial": "timeout"}
    assert all(c.outcome != "passed" for c in by["exits"].checks)
    # every one of them is in the gradebook (errors as zeros), so exports and feedback see them
    scores = auto_scores(root)
    assert set(scores) == set(by) and sum(scores["garbage"][k] for k in ("test_add", "test_mean", "test_partial")) == 0
    assert report.graded == 7 and not report.not_recorded
    assert "3 not gradable" in report.summary()


def crash_on_student(payload: dict):
    """A task that kills its worker process for the student 'crash' (and grades the others)."""

    if payload["student"] == "crash":
        os._exit(9)
    return grade_task(payload)


def test_a_dying_worker_takes_down_only_its_submission(released_course, tmp_path):

    root = copy_course(released_course, tmp_path / "course")
    data = nbformat.writes(answered(_released(root), ANSWERS_CORRECT)).encode()
    payloads = [make_payload(ASSIGNMENT, name, ASSIGNMENT, data, 1, root) for name in ("a", "crash", "b", "c")]
    outputs = {p["student"]: out.result for p, out in run_local(payloads, 2, task=crash_on_student)}
    assert set(outputs) == {"a", "crash", "b", "c"}
    assert outputs["crash"].status == "error" and "died" in outputs["crash"].error
    assert all(outputs[s].score == 7 for s in "abc")


GRADER = """
import sys
sys.path.insert(0, {repo!r})
from tests.courses.legacy import grade
grade({root!r}, workers=1, seed=11)
"""


def _survivors(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                    if marker.encode() in handle.read():
                        found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_kill_9_mid_batch_then_rerun_grades_each_submission_once(released_course, tmp_path):
    root = copy_course(released_course, tmp_path / "course")
    nb = _released(root)
    students = {f"s{i}": ANSWERS_CORRECT if i % 2 == 0 else ANSWERS_PARTLY for i in range(6)}
    for student, answers in students.items():
        submit(root, student, answered(nb, answers))
    script = GRADER.format(repo=str(REPO), root=str(root))
    grader = subprocess.Popen([sys.executable, "-c", script], cwd=root, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    store = ResultStore(db_url(root))
    deadline = time.monotonic() + 240
    try:
        while True:
            assert grader.poll() is None, grader.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the grader made no progress"
            try:
                done = store.graded(ASSIGNMENT)
            except Exception:  # noqa: BLE001 - the table may not exist yet
                done = {}
            if len(done) >= 2:
                break
            time.sleep(0.05)
    finally:
        os.killpg(grader.pid, signal.SIGKILL)
        grader.wait()
    first = store.graded(ASSIGNMENT)
    assert 2 <= len(first) < len(students)
    # nothing of the killed grader survives (its sandboxes bind files of this course)
    deadline = time.monotonic() + 15
    while _survivors(str(root)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _survivors(str(root))

    report = grade(root, workers=2, seed=11)
    assert report.skipped == len(first) and report.graded == len(students) - len(first)
    after = store.graded(ASSIGNMENT)
    assert set(after) == {(s, ASSIGNMENT) for s in students}
    for key, row in first.items():  # graded once: the first run's rows are untouched
        assert (after[key]["run_id"], after[key]["graded_at"]) == (row["run_id"], row["graded_at"])
    assert {row["run_id"] for key, row in after.items() if key not in first} == {report.run_id}
    scores = auto_scores(root)
    assert set(scores) == set(students)
    for student, answers in students.items():
        expected = 7 if answers is ANSWERS_CORRECT else 3
        assert sum(v for k, v in scores[student].items() if k.startswith("test_")) == expected

    with Gradebook(db_url(root)) as gb:
        assert len(gb.assignment_submissions(ASSIGNMENT)) == len(students)
        assert all(len(sub.notebooks) == 1 and len(sub.notebooks[0].grades) == 4
                   for sub in gb.assignment_submissions(ASSIGNMENT))

    forced = grade(root, workers=2, seed=11, force=True)
    assert forced.graded == len(students) and forced.skipped == 0
    assert {row["run_id"] for row in store.graded(ASSIGNMENT).values()} == {forced.run_id}
    store.dispose()


def _grade_xor(root: Path, **kwargs):

    course = Course(root, kwargs.pop("db_url", None))
    return grade_class("xor", course.find_submissions("xor"), progress=False, course=course, **kwargs)


def test_dask_cluster_grades_exactly_like_the_local_pool(released_course, tmp_path, run_cli, postgresql):
    local = copy_course(released_course, tmp_path / "local")
    nb = _released(local)
    for student, answers in {"a": ANSWERS_CORRECT, "b": ANSWERS_PARTLY, "c": {}, "d": ANSWERS_CORRECT}.items():
        submit(local, student, answered(nb, answers))
    submit(local, "e", b"garbage")
    # and an assignment graded by the hidden checks (pytest in the Dask worker's thread)
    for folder in ("solutions", "assignments"):
        shutil.copytree(REPO / folder / "xor", local / folder / "xor")
    xor = simulated_class(local / "solutions" / "xor" / "xor.ipynb", local / "assignments" / "xor" / "xor.ipynb")
    write_class(local, "xor", {"a": xor["partly"], "b": xor["blank"]})
    remote = copy_course(local, tmp_path / "remote")
    (remote / "gradebook.db").unlink()  # the distributed run keeps its gradebook in PostgreSQL
    cluster = DaskCluster(Path(tempfile.mkdtemp(prefix="dask-", dir=tmp_path)))  # its workers start meanwhile
    try:
        expected = grade(local, workers=2, seed=77)
        expected_xor = _grade_xor(local, seed=77)
        url = postgresql()
        report = grade(remote, seed=77, scheduler=cluster.address, db_url=url)
        assert len(report.workers) == 2  # both workers graded
        assert report.results == expected.results
        assert report.graded == 5
        remote_xor = _grade_xor(remote, seed=77, scheduler=cluster.address, db_url=url)
        # partly: no train_xor, so neither trained model earns a point (an untrained linear
        # model "cannot fit" only because it never trained)
        assert [r.score for r in remote_xor.results] == [7, 0]
        strip = lambda results: [dataclasses.replace(r, timings={}) for r in results]  # noqa: E731
        assert strip(remote_xor.results) == strip(expected_xor.results)

        with Gradebook(url) as gb:
            remote_scores = {s.student.id: {g.name: g.auto_score for g in s.notebooks[0].grades}
                             for s in gb.assignment_submissions(ASSIGNMENT)}
        assert remote_scores == auto_scores(local)
        rerun = grade(remote, seed=77, scheduler=cluster.address, db_url=url)
        assert rerun.skipped == 5 and rerun.graded == 0
        # the same cluster through the command an instructor types
        cli = lambda *args: run_cli("grade", ASSIGNMENT, "--scheduler", cluster.address, "--db", url,  # noqa: E731
                                    "--seed", 77, *args, env={"COURSE_ROOT": remote})
        skipped = cli()
        assert skipped.returncode == 0 and "5 already graded" in skipped.stderr, skipped.stderr
        regraded = cli("--force", "--json", tmp_path / "cli.json")
        assert regraded.returncode == 0, regraded.stderr
        cli_scores = {s["student"]: s["score"] for s in json.loads((tmp_path / "cli.json").read_text())["submissions"]}
        assert cli_scores == {r.student: r.score for r in expected.results}
        with Gradebook(url) as gb:
            assert len(gb.assignment_submissions(ASSIGNMENT)) == 5  # regraded in place, not added twice
    finally:
        cluster.close()
    assert not (remote / "gradebook.db").exists()  # nothing was written to a local SQLite gradebook
