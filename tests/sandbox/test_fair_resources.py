"""Fair resources between students (issue 9, item 2): one cgroup per sandbox.

Hostile notebooks (fifty busy loops in their own sessions plus threads, children holding far
more memory than the sandbox may, a fork bomb, a cell that never ends) are graded by
``grade_class`` with two workers beside correct notebooks, with zygote kernels and with plain
sandboxes. The correct ones keep full marks whatever the load (their limits are budgets of their
own CPU time); the hogs get nothing, stay inside their limits, and leave no cgroup and no
process behind. The detection of cgroup v1/v2, the fallback and the sweeping are in
test_cgroup_detection.py.
"""

from __future__ import annotations

import ast
import errno
import json
import os
import time
from pathlib import Path

import nbformat
import pytest

from autograder.classroom.grade_class import grade_class
from autograder.classroom.worker import TaskOutput
from autograder.grading.grader import grade_submission
from autograder.grading.results import SubmissionResult
from autograder.grading.submissions import Submission
from autograder.sandbox import cgroup as cgroup_module
from autograder.sandbox.execute import execute_notebook
from autograder.sandbox.kernel import SandboxKernel
from autograder.sandbox.limits import MIB, Limits
from autograder.sandbox.zygote import kernel_factory
from tests.courses.tiny import SCALE, make_course, notebook_bytes, released_cells, tiny_cells, tiny_spec
from tests.sandbox.markers import needs_cgroups

GIB = 1024 * MIB
SANDBOX_MEMORY = 1536 * MIB
SANDBOX_PIDS = 96
# generous RLIMIT_AS and RLIMIT_NPROC: the cgroup, not the per-process limits, must stop the hogs
LIMITS = {"memory": 8 * GIB, "nproc": 4096, "sandbox_memory": SANDBOX_MEMORY, "sandbox_pids": SANDBOX_PIDS,
          "cpus": 1.0, "cell_timeout": 3.0, "notebook_timeout": 30.0}

# (a forked child of the kernel must never return into the kernel's code: try/finally os._exit)
CPU_HOG = """
import os, threading
def spin():
    while True:
        pass
children = []
for _ in range(50):
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            spin()
        finally:
            os._exit(0)
    children.append(pid)
for _ in range(4):
    threading.Thread(target=spin, daemon=True).start()
print('hog children', len(children))
"""
MEMORY_HOG = """
import os, time
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(1024 * 1024 * 1024)
            for i in range(0, len(block), 4096):
                block[i] = 1
            time.sleep(120)
        finally:
            os._exit(0)
    children.append(pid)
time.sleep(4)
"""
FORK_BOMB = """
import os, time
if os.fork() == 0:
    try:
        os.setsid()
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.05)
    finally:
        os._exit(0)
time.sleep(2)
"""
STUCK_SCALE = "while True:\n    pass\n\n" + SCALE  # interrupted before it defines scale


def _start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks), None when it is gone or a zombie (dead, not yet reaped)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def _observe(kernel, probe: dict, started: float) -> None:
    """Record the sandbox cgroup's figures just before it is removed, and what is left after."""
    sandbox = kernel.sandbox
    close_cgroup = sandbox.close_cgroup

    def observed_close() -> None:
        group = sandbox.cgroup
        if group is not None and "folders" not in probe:
            probe["folders"] = [str(f) for f in group.folders]
            probe["cpu"], probe["wall"] = group.cpu_seconds(), time.monotonic() - started
            probe["peak"] = group.memory_peak()
            probe["procs"] = [(pid, _start_time(pid)) for pid in sorted(group.pids())]
            pids_folder = next(f for f in group.folders if (f / "pids.events").exists())
            probe["pids_refused"] = int((pids_folder / "pids.events").read_text().split()[1])
            memory_folder = next(f for f in group.folders if (f / "memory.limit_in_bytes").exists()
                                 or (f / "memory.max").exists())
            limit_file = memory_folder / ("memory.limit_in_bytes" if group.hierarchy.version == 1 else "memory.max")
            probe["memory_limit"] = int(limit_file.read_text())
        close_cgroup()
        if "folders" in probe:
            probe["left"] = [f for f in probe["folders"] if os.path.exists(f)]
            probe["alive"] = [pid for pid, start in probe["procs"] if start is not None and _start_time(pid) == start]

    sandbox.close_cgroup = observed_close


def tiny_task(payload: dict) -> TaskOutput:
    """``grade_task`` for the tiny course (the engine's path with the tiny spec); the sandbox
    cgroup's figures go to ``<options["probe_dir"]>/<student>.json``."""
    options = payload["options"]
    probe: dict = {}
    make = kernel_factory if options.get("zygote", True) else SandboxKernel

    def factory(limits, mounts, env=None, secure=True):
        started = time.monotonic()
        kernel = make(limits, mounts, env=env, secure=secure)
        probe["kind"] = type(kernel).__name__
        _observe(kernel, probe, started)
        return kernel

    graded = grade_submission(tiny_spec(**options["limits"]), payload["data"], payload["student"],
                              payload["notebook"], int(payload["seed"]), course_root=Path(payload["course_root"]),
                              kernel_factory=factory)
    Path(options["probe_dir"], f"{payload['student']}.json").write_text(json.dumps(probe))
    return TaskOutput(graded.result, None, graded.result.timings.get("total", 0.0), str(os.getpid()))


def _blank_with(source: str) -> bytes:
    cells = released_cells()
    cells.insert(1, tiny_cells(before=[source])[1])
    return notebook_bytes(cells)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("fair_course"))


def _grade(course: Path, folder: Path, zygote: bool) -> tuple[dict, dict, list[int]]:
    """(student -> result, student -> sandbox figures, the workers' pids)."""
    notebooks = {
        "cpu_hog": _blank_with(CPU_HOG),
        "correct1": notebook_bytes(tiny_cells()),
        "memory_hog": _blank_with(MEMORY_HOG),
        "correct2": notebook_bytes(tiny_cells()),
        "fork_bomb": _blank_with(FORK_BOMB),
        "stuck_cell": notebook_bytes(tiny_cells(scale=STUCK_SCALE)),
        "correct3": notebook_bytes(tiny_cells()),
    }
    submissions = []
    for name, data in notebooks.items():
        path = folder / f"{name}.ipynb"
        path.write_bytes(data)
        submissions.append(Submission(name, "tiny", path))
    probes = folder / "probes"
    probes.mkdir()
    report = grade_class("tiny", submissions, workers=2, seed=99, progress=False, record=False, root=course,
                         task=tiny_task, options={"zygote": zygote, "limits": LIMITS, "probe_dir": str(probes)})
    results = {r.student: r for r in report.results}
    return (results, {name: json.loads((probes / f"{name}.json").read_text()) for name in results},
            [int(worker) for worker in report.workers])


@pytest.fixture(scope="module", params=[True, False], ids=["zygote", "plain"])
def graded(request, course, tmp_path_factory):
    results, probes, workers = _grade(course, tmp_path_factory.mktemp("fair_submissions"), request.param)
    return request.param, results, probes, workers


def _summary(result: SubmissionResult) -> str:
    checks = [(c.name, c.outcome, c.message[:60]) for c in result.checks]
    return f"{result.score}/{result.max_score} {checks}"


@needs_cgroups
def test_correct_notebooks_keep_full_marks_beside_hogs(graded):
    zygote, results, probes, _ = graded
    kind = "ZygoteKernel" if zygote else "SandboxKernel"
    for name in ("correct1", "correct2", "correct3"):
        assert results[name].status == "graded" and results[name].score == 3.0, _summary(results[name])
    for name in ("cpu_hog", "memory_hog", "fork_bomb"):
        assert results[name].score == 0.0, _summary(results[name])
    assert all(probe["kind"] == kind for probe in probes.values()) and set(probes) == set(results)
    # the CPU hog really ran, and its 50 loops together got no more than its one core
    hog = probes["cpu_hog"]
    assert 3.0 < hog["cpu"] <= hog["wall"] * LIMITS["cpus"] * 1.05 + 0.5, hog


@needs_cgroups
def test_a_cell_out_of_time_costs_only_the_checks_depending_on_it(graded):
    _, results, probes, _ = graded
    stuck = results["stuck_cell"]
    outcomes = {c.name: c.outcome for c in stuck.checks}
    assert stuck.status == "graded" and stuck.score == 2.0, _summary(stuck)
    assert outcomes["test_add"] == outcomes["test_counter"] == "passed" and outcomes["test_scale"] != "passed"
    assert probes["stuck_cell"]["cpu"] >= LIMITS["cell_timeout"]  # judged on its own CPU time


@needs_cgroups
def test_memory_of_all_processes_together_stays_within_the_sandbox_limit(graded):
    _, _, probes, _ = graded
    probe = probes["memory_hog"]
    assert probe["memory_limit"] == SANDBOX_MEMORY
    # four children touching 1 GiB each: the sandbox held at most its limit, and did reach for it
    assert SANDBOX_MEMORY // 2 < probe["peak"] <= SANDBOX_MEMORY


@needs_cgroups
def test_a_fork_bomb_is_stopped_by_the_sandbox_pid_limit(graded):
    _, _, probes, _ = graded
    probe = probes["fork_bomb"]
    assert probe["pids_refused"] > 0  # forks were refused by pids.max (RLIMIT_NPROC is 4096 here)
    assert len(probe["procs"]) <= SANDBOX_PIDS


@needs_cgroups
def test_no_cgroup_and_no_process_of_a_sandbox_is_left(graded):
    _, _, probes, workers = graded
    for name, probe in probes.items():
        assert probe["folders"], name
        assert probe["left"] == [] and probe["alive"] == [], (name, probe["left"], probe["alive"])
    # nor any cgroup of the workers (their zygotes' own ones included), once the batch is over
    owners = {str(pid) for pid in workers}
    left = [entry for base in cgroup_module.detect().bases() if base.is_dir() for entry in base.iterdir()
            if entry.is_dir() and entry.name.split("-")[0] in owners]
    assert len(workers) == 2 and left == []


ESCAPE = r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
os.makedirs("/tmp/cg", exist_ok=True)
seen = [os.path.exists("/sys/fs/cgroup"), open("/proc/self/cgroup").read().split(),
        libc.mount(b"cgroup", b"/tmp/cg", b"cgroup", 0, b"memory")]
pid = os.fork()
if pid == 0:  # a new user, mount and cgroup namespace: cgroupfs can be mounted, rooted at our own cgroup
    out = []
    try:
        out.append(libc.unshare(0x10000000 | 0x00020000 | 0x02000000))
        out.append(libc.mount(b"cgroup", b"/tmp/cg", b"cgroup", 0, b"memory"))
        for path, value in (("memory.limit_in_bytes", "-1"), ("cgroup.procs", str(os.getpid())),
                            ("tasks", str(os.getpid())), ("notify_on_release", "1")):
            try:
                with open("/tmp/cg/" + path, "w") as handle:
                    handle.write(value)
                out.append(path + " written")
            except OSError as exc:
                out.append(exc.errno)
        try:
            os.mkdir("/tmp/cg/sub")
            out.append("mkdir worked")
        except OSError as exc:
            out.append(exc.errno)
        out.append(open("/tmp/cg/memory.limit_in_bytes").read().strip())
    finally:
        open("/tmp/child.txt", "w").write(repr(out))
        os._exit(0)
os.waitpid(pid, 0)
print(repr(seen) + "|" + open("/tmp/child.txt").read())
"""


@needs_cgroups
@pytest.mark.parametrize("zygote", [True, False], ids=["zygote", "plain"])
def test_a_student_cannot_leave_or_loosen_its_cgroup(zygote):

    limits = Limits(sandbox_memory=SANDBOX_MEMORY)
    kernel = (kernel_factory if zygote else SandboxKernel)(limits, [])
    try:
        assert type(kernel).__name__ == ("ZygoteKernel" if zygote else "SandboxKernel")
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(ESCAPE)])
        execute_notebook(kernel, nb)
        memory_folder = next(f for f in kernel.sandbox.cgroup.folders if (f / "memory.limit_in_bytes").exists()
                          or (f / "memory.max").exists())
        on_host = sorted(p.name for p in memory_folder.iterdir() if p.is_dir())  # no sub-cgroup made
    finally:
        kernel.close()
    seen, child = nb.cells[0].outputs[0]["text"].strip().split("|")
    no_sys, view, mounted = ast.literal_eval(seen)
    assert no_sys is False and mounted == -1  # no cgroupfs inside, and none to mount as is
    assert all(line.endswith(":/") for line in view)  # the cgroup namespace is rooted at its own cgroup
    unshared, remounted, *writes, mkdir, limit = ast.literal_eval(child)
    if unshared == 0 and remounted == 0:  # what it mounts in a user namespace is its own cgroup, read-only
        assert writes == [errno.EACCES] * 4 and mkdir == errno.EACCES
        assert limit == str(SANDBOX_MEMORY)
    assert on_host == []
