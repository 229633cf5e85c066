"""Hostile submissions, graded in one batch with honest ones, two at a time (issue 4, "Bad and
hostile input").

Every case must get exactly the score it earned honestly (never more), change nothing outside
its sandbox, leave no process behind, and not disturb the other submissions of the batch.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from pathlib import Path

import pytest

from autograder.classroom.grade_class import run_local
from autograder.grading.grader import grade_submission
from autograder.sandbox.kernel import SandboxKernel
from autograder.sandbox.launcher import processes_of
from tests.courses.tiny import SECRET, TINY_CHECKS, make_course, tiny_spec
from tests.grading.hostile_cases import hostile_cases

SEED = 20240601


class Listener:
    """A TCP server on the host's loopback that records every connection it gets."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


class RecordingKernel(SandboxKernel):
    """A SandboxKernel that remembers the host PIDs of its sandbox's processes when it closes
    (other graders on this machine may use the same slot uids later, so we track PIDs)."""

    seen: list[tuple[int, int]] = []

    def close(self):
        slot = self.sandbox.slot
        if slot is not None:
            RecordingKernel.seen += [(pid, slot.uid) for pid in processes_of(slot.uid)]
        super().close()


def survivors(seen) -> list[tuple[int, int]]:
    """The recorded processes that still exist (same PID, same uid)."""
    alive = []
    for pid, uid in seen:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if int(status.split("Uid:")[1].split()[0]) == uid:
            alive.append((pid, uid))
    return alive


def output_text(nb) -> str:
    parts = []
    for cell in nb.cells if nb is not None else []:
        for out in cell.get("outputs", []):
            parts.append(str(out.get("text", "")))
            parts.append(str(out.get("evalue", "")))
            parts.append(json.dumps(out.get("data", {})))
    return "\n".join(parts)


def grade_recorded(payload: dict) -> tuple:
    """Grade one case in a grading worker (``run_local``'s task) with a :class:`RecordingKernel`:
    (result, executed notebook, the (PID, uid) of its sandbox's processes)."""
    RecordingKernel.seen = []
    graded = grade_submission(tiny_spec(), payload["data"], payload["name"], payload["path"], SEED,
                              course_root=Path(payload["course"]), kernel_factory=RecordingKernel)
    return graded.result, graded.executed, RecordingKernel.seen


@pytest.fixture(scope="module")
def hostile_batch(tmp_path_factory):
    """Grade every hostile case in one batch, two at a time in the grading workers of
    ``run_local``; return (cases, results by name, executed notebooks, env)."""
    course = make_course(tmp_path_factory.mktemp("tiny_course"))
    host_dir = tmp_path_factory.mktemp("host_only")
    submissions_dir = tmp_path_factory.mktemp("hostile_submissions")
    listener = Listener()
    try:
        cases = hostile_cases(course, listener.port, host_dir)
        before = tree_digest(course)
        payloads = []
        for case in cases:
            path = submissions_dir / f"{case.name}.ipynb"
            path.write_bytes(case.data)
            payloads.append({"name": case.name, "data": path.read_bytes(), "path": str(path), "course": str(course)})
        results, executed, processes = {}, {}, []
        for payload, (result, nb, seen) in run_local(payloads, workers=2, task=grade_recorded):
            results[payload["name"]], executed[payload["name"]] = result, nb
            processes += seen
    finally:
        listener.close()
    env = {"course": course, "before": before, "host_dir": host_dir, "connections": listener.connections,
           "processes": processes}
    return cases, results, executed, env


def test_every_hostile_case_gets_only_what_it_earned(hostile_batch):
    cases, results, executed, _ = hostile_batch
    problems = []
    for case in cases:
        result = results[case.name]
        got = (result.status, result.score, result.max_score)
        if got != (case.status, case.score, 3.0):
            problems.append(f"{case.name}: expected {(case.status, case.score, 3.0)}, got {got}: "
                            f"{[(c.name, c.outcome, c.message[:80]) for c in result.checks]}")
        outcomes = {c.name: c.outcome for c in result.checks}
        for name, outcome in (case.outcomes or {}).items():
            if outcomes.get(name) != outcome:
                problems.append(f"{case.name}: check {name} expected {outcome}, got {outcomes.get(name)}")
        text = output_text(executed.get(case.name))
        problems += [f"{case.name}: output lacks {s!r}" for s in case.shows if s not in text]
        problems += [f"{case.name}: output shows {s!r}" for s in case.hides if s in text]
    assert not problems, "\n".join(problems)


def test_hostile_cases_leave_the_host_untouched(hostile_batch):
    _, results, executed, env = hostile_batch
    assert env["connections"] == 0, "a sandbox reached a listener on the host's loopback"
    assert list(env["host_dir"].iterdir()) == [], "something was written (or unpickled) on the host"
    assert tree_digest(env["course"]) == env["before"], "the course folder changed"
    for path in (Path("/work/PWNED"), Path("/root/PWNED"), Path("/etc/PWNED"), Path("/usr/PWNED")):
        assert not path.exists()
    assert len(env["processes"]) >= len(results) - 3, "the sandboxes' processes were not recorded"
    assert survivors(env["processes"]) == [], "processes of a sandbox outlived grading"
    everything = json.dumps([r.to_json() for r in results.values()]) + "".join(
        output_text(nb) for nb in executed.values())
    assert SECRET not in everything, "instructor-only content reached a student's output or feedback"


def test_messages_never_show_check_source(hostile_batch):
    _, results, _, _ = hostile_batch
    source = (TINY_CHECKS / "check_tiny.py").read_text()
    code_lines = [line.strip() for line in source.splitlines() if len(line.strip()) > 20]
    for result in results.values():
        for check in result.checks:
            assert check.message == "" or check.outcome != "passed"
            assert not any(line in check.message for line in code_lines), check.message
