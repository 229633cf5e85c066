"""No kernel object carries one student's work to another (issue 9, item 1).

A writer (correct tiny notebook) stores its solution through every channel of
``channels.py`` (keyrings, SysV and POSIX IPC, abstract sockets, files in every writable
folder, other processes' command lines, locks and notifications on shared read-only files,
ptys); a blank reader polls them all and defines the graded functions from whatever it finds.
Graded through ``grade_class`` with zygote kernels and with plain sandboxes, one after the other
in one worker and at the same time in two: the writer keeps full marks, the reader gets 0. A
control shows the same reader finds the solution through every channel when nothing separates
the two (one sandbox, no seccomp filter). Unit tests: the seccomp filter is loaded in both
sandbox kinds (kernel, its children, the zygote's namespace init), denies what it should with
the errno it should, and a torch notebook still trains.
"""

from __future__ import annotations

import json
import os

import nbformat
import pyseccomp
import pytest

from autograder.classroom.grade_class import grade_class
from autograder.grading.submissions import Submission
from autograder.sandbox import uids
from autograder.sandbox.execute import execute_notebook
from autograder.sandbox.kernel import SandboxKernel
from autograder.sandbox.launcher import Sandbox, is_root
from autograder.sandbox.limits import Limits
from autograder.sandbox.probe import missing_protections
from autograder.sandbox.uids import FIRST_UID, UID_COUNT
from autograder.sandbox.zygote import Zygote, ZygoteKernel
from tests.courses.tiny import make_course
from tests.sandbox.channels import (
    CHANNELS,
    last_json,
    reader_cell,
    reader_notebook,
    tiny_task,
    writer_cell,
    writer_notebook,
)

pytestmark = pytest.mark.skipif(not is_root() or bool(missing_protections()),
                                reason="needs root and bubblewrap (as the grading machine has)")

LIMITS = Limits(cell_timeout=60, notebook_timeout=120)
# the batch's limits: long enough cells for a writer that holds its channels while a reader polls
BATCH_LIMITS = {"cell_timeout": 60, "notebook_timeout": 150, "memory": 3 * 1024 ** 3}
HOLD = 20.0  # concurrent case: how long the writer keeps its sandbox (and channels) alive
WAIT = 20.0  # concurrent case: how long the reader polls


def cell_outputs(kernel, *sources: str) -> list[dict]:
    """Execute cells; return the JSON line each printed last ({} when none)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    execute_notebook(kernel, nb)
    return [last_json({"cells": [cell]}) for cell in nb.cells]


def test_every_channel_carries_the_solution_when_nothing_separates_the_students(monkeypatch):
    # writer and reader in ONE sandbox without the filter: what each channel would give away
    monkeypatch.setattr(Sandbox, "filter_syscalls", False)
    with SandboxKernel(LIMITS) as kernel:
        _, wrote, read, used = cell_outputs(kernel, "import numpy as np", writer_cell(0.0, 15.0), reader_cell(3.0),
                                            "import json\nprint(json.dumps({'add': add(2, 3), 'bump': Counter(1).bump()}))")
    assert wrote["stored"] == {name: "stored" for name in CHANNELS}
    assert read["found"] == sorted(CHANNELS), read["errors"]
    assert used == {"add": 5, "bump": 2}


def _grade(tmp_path, zygote: bool, workers: int, hold: float, wait: float) -> tuple[dict, dict]:
    course = make_course(tmp_path / "course")
    folder = tmp_path / "submitted"
    folder.mkdir()
    (folder / "writer.ipynb").write_bytes(writer_notebook(hold=hold, serve=hold))
    (folder / "reader.ipynb").write_bytes(reader_notebook(wait=wait))
    records = tmp_path / "records"
    records.mkdir()
    submissions = [Submission(name, "tiny", folder / f"{name}.ipynb") for name in ("writer", "reader")]
    report = grade_class("tiny", submissions, workers=workers, seed=3, progress=False, record=False, root=course,
                         task=tiny_task, options={"zygote": zygote, "limits": BATCH_LIMITS, "record_dir": str(records)})
    results = {r.student: r for r in report.results}
    runs = {name: json.loads((records / f"{name}.json").read_text()) for name in results}
    return results, runs


@pytest.mark.parametrize("zygote", [True, False], ids=["zygote", "plain"])
@pytest.mark.parametrize("when", ["successive", "concurrent"])
def test_a_blank_notebook_gets_nothing_from_another_students_kernel_objects(tmp_path, zygote, when):
    concurrent = when == "concurrent"
    results, runs = _grade(tmp_path, zygote, workers=2 if concurrent else 1,
                           hold=HOLD if concurrent else 0.0, wait=WAIT if concurrent else 1.0)
    wrote, read = last_json(runs["writer"]["executed"]), last_json(runs["reader"]["executed"])
    assert wrote and read, "the writer's or the reader's channel cell did not run"
    assert wrote["preloaded"] is zygote and read["preloaded"] is zygote, "not the kind of kernel asked for"
    # the seccomp filter was there: nothing could be stored in a keyring or as a lock
    for name in ("user keyring", "session keyring", "persistent keyring", "flock", "ofd lock"):
        assert wrote["stored"][name].split(":")[0] in ("PermissionError", "OSError"), (name, wrote["stored"][name])
    if concurrent:
        assert runs["writer"]["worker"] != runs["reader"]["worker"]
        overlap = min(wrote["window"][1], read["window"][1]) - max(wrote["window"][0], read["window"][0])
        assert overlap > 3, f"writer and reader did not run at the same time ({overlap:.1f} s overlap)"
    else:
        assert runs["writer"]["worker"] == runs["reader"]["worker"]
        assert read["window"][0] > wrote["window"][1], "the reader did not run after the writer"
    assert read["found"] == [], f"the reader got the writer's solution through {read['found']}"
    assert (results["writer"].score, results["writer"].max_score) == (3.0, 3.0), results["writer"]
    assert (results["reader"].score, results["reader"].max_score) == (0.0, 3.0), results["reader"]


def test_concurrent_kernels_of_one_zygote_share_nothing(zygote):
    # the batch gives each worker its own zygote; a zygote serving two students at once must hold too
    with ZygoteKernel(zygote, LIMITS) as writer, ZygoteKernel(zygote, LIMITS) as reader:
        wrote, = cell_outputs(writer, writer_cell(0.0, 10.0))
        read, = cell_outputs(reader, reader_cell(2.0))
    assert wrote["stored"]["ptys"] == "stored" and wrote["stored"]["abstract socket"] == "stored"
    assert read["found"] == [], f"the reader got the writer's solution through {read['found']}"


# syscalls the filter denies, called with harmless arguments (no privilege is held in the sandbox):
# label -> (syscall, arguments, errno the filter returns)
CALLS = {
    "add_key": ("add_key", [b"user", b"probe", b"v", 1, -2], "EPERM"),
    "keyctl": ("keyctl", [0, -3, 0], "EPERM"),
    "request_key": ("request_key", [b"user", b"probe", 0, 0], "EPERM"),
    "ptrace": ("ptrace", [16, 999999, 0, 0], "EPERM"),
    "process_vm_readv": ("process_vm_readv", [1, 0, 0, 0, 0, 0], "EPERM"),
    "kcmp": ("kcmp", [1, 1, 0, 0, 0], "EPERM"),
    "pidfd_getfd": ("pidfd_getfd", [0, 0, 0], "EPERM"),
    "unshare": ("unshare", [0], "EPERM"),
    "unshare user": ("unshare", [0x10000000], "EPERM"),
    "setns": ("setns", [0, 0], "EPERM"),
    "clone newuser": ("clone", [0x10000000 | 0x200, 0, 0, 0, 0], "EPERM"),  # with CLONE_FS: EINVAL unfiltered
    "clone3": ("clone3", [0, 0], "ENOSYS"),
    "mount": ("mount", [0, 0, 0, 0, 0], "EPERM"),
    "umount2": ("umount2", [0, 0], "EPERM"),
    "fsopen": ("fsopen", [0, 0], "EPERM"),
    "open_tree": ("open_tree", [0, 0, 0], "EPERM"),
    "bpf": ("bpf", [0, 0, 0], "EPERM"),
    "perf_event_open": ("perf_event_open", [0, 0, 0, 0, 0], "EPERM"),
    "userfaultfd": ("userfaultfd", [0], "EPERM"),
    "io_uring_setup": ("io_uring_setup", [0, 0], "EPERM"),
    "inotify_init1": ("inotify_init1", [0], "EPERM"),
    "fanotify_init": ("fanotify_init", [0, 0], "EPERM"),
    "name_to_handle_at": ("name_to_handle_at", [0, 0, 0, 0, 0], "EPERM"),
    "settimeofday": ("settimeofday", [0, 0], "EPERM"),
    "clock_adjtime": ("clock_adjtime", [0, 0], "EPERM"),
    "syslog": ("syslog", [0, 0, 0], "EPERM"),
    "sethostname": ("sethostname", [0, 0], "EPERM"),
    "personality": ("personality", [0x0040000], "EPERM"),
    "cachestat": ("cachestat", [0, 0, 0, 0], "EPERM"),
    "iopl": ("iopl", [0], "EPERM"),
    "flock": ("flock", ["FD", 1], "ENOLCK"),
    "prctl memory merge": ("prctl", [67, 1, 0, 0, 0], "EPERM"),
    "madvise mergeable": ("madvise", [0, 0, 12], "EPERM"),
}
# of those, the ones an unprivileged process may call without the filter (or gets another error)
UNFILTERED_DIFFERENT = {"add_key", "keyctl", "unshare", "clone newuser", "clone3", "inotify_init1",
                        "name_to_handle_at", "cachestat", "flock", "madvise mergeable"}

PROBE = r'''
import ctypes, errno, json, os, pwd, subprocess
libc = ctypes.CDLL(None, use_errno=True)
def call(name, args):
    ctypes.set_errno(0)
    result = libc.syscall({numbers!r}[name], *[a if isinstance(a, bytes) else ctypes.c_long(a) for a in args])
    return "ok" if result >= 0 else errno.errorcode[ctypes.get_errno()]
fd = os.open("/tmp/probe", os.O_RDWR | os.O_CREAT)
out = {{label: call(name, [fd if a == "FD" else a for a in args]) for label, (name, args) in {calls!r}.items()}}
try:
    os.preadv(fd, [bytearray(8)], 0, os.RWF_NOWAIT)
    out["preadv2 nowait"] = "ok"
except OSError as exc:
    out["preadv2 nowait"] = errno.errorcode[exc.errno]
def seccomp(text):
    return [line.split()[1] for line in text.splitlines() if line.startswith("Seccomp:")][0]
out["seccomp"] = {{"kernel": seccomp(open("/proc/self/status").read()),
                  "child": seccomp(subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True).stdout),
                  "init": seccomp(open("/proc/1/status").read()) if os.getuid() == os.stat("/proc/1").st_uid else None}}
out["user"] = [pwd.getpwuid(os.getuid()).pw_name, pwd.getpwnam("student").pw_uid == os.getuid()]
print(json.dumps(out))
'''

TORCH = r'''
import json, threading, torch
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(0)
x = torch.randn(256, 2)
y = (x[:, 0] * x[:, 1] > 0).long()
model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
opt = torch.optim.Adam(model.parameters(), lr=0.05)
for epoch in range(30):
    for xb, yb in DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
worker = threading.Thread(target=lambda: None)
worker.start()
worker.join()
print(json.dumps({"accuracy": float((model(x).argmax(1) == y).float().mean())}))
'''


def probe_cell() -> str:

    arch = pyseccomp.system_arch()
    numbers = {name: pyseccomp.resolve_syscall(arch, name) for name, _, _ in CALLS.values()}
    return PROBE.format(numbers=numbers, calls={label: (name, args) for label, (name, args, _) in CALLS.items()})


EXPECTED = {**{label: expected for label, (_, _, expected) in CALLS.items()}, "preadv2 nowait": "EPERM"}


@pytest.fixture(scope="module")
def zygote():
    z = Zygote(LIMITS)
    yield z
    z.close()


@pytest.mark.parametrize("kind", ["plain", "zygote"])
def test_the_filter_is_loaded_denies_what_it_should_and_torch_still_trains(kind, request):
    kernel = SandboxKernel(LIMITS) if kind == "plain" else ZygoteKernel(request.getfixturevalue("zygote"), LIMITS)
    with kernel:
        uid = kernel.sandbox.slot.uid
        probe, trained = cell_outputs(kernel, probe_cell(), TORCH)
    seccomp = probe.pop("seccomp")
    assert probe.pop("user") == ["student", True], "/etc/passwd does not name the sandbox's uid"
    assert seccomp["kernel"] == seccomp["child"] == "2"
    if kind == "zygote":
        assert seccomp["init"] == "2", "the namespace's init runs without the filter"
    assert probe == EXPECTED
    assert trained["accuracy"] > 0.8
    assert FIRST_UID <= uid < FIRST_UID + UID_COUNT


def test_without_the_filter_those_calls_behave_otherwise(monkeypatch):
    # the errnos above come from the filter, not from missing privileges
    monkeypatch.setattr(Sandbox, "filter_syscalls", False)
    with SandboxKernel(LIMITS) as kernel:
        probe, = cell_outputs(kernel, probe_cell())
    assert probe.pop("seccomp")["kernel"] == "0" and probe.pop("user") == ["student", True]
    differs = {label for label, got in probe.items() if got != EXPECTED[label]}
    assert differs >= UNFILTERED_DIFFERENT | {"preadv2 nowait"}, probe


def test_every_sandbox_gets_a_uid_no_earlier_one_had():
    uids = []
    for _ in range(3):
        with SandboxKernel(LIMITS) as kernel:
            uids.append(kernel.sandbox.slot.uid)
    with SandboxKernel(LIMITS) as a, SandboxKernel(LIMITS) as b:
        uids += [a.sandbox.slot.uid, b.sandbox.slot.uid]
    assert len(set(uids)) == len(uids) and all(FIRST_UID <= uid < FIRST_UID + UID_COUNT for uid in uids)


def _allocate_in_children(count: int, children: int) -> list[int]:
    """Uids allocated by ``children`` forked processes at once, ``count`` each."""

    pipes = []
    for _ in range(children):
        read_end, write_end = os.pipe()
        if os.fork() == 0:
            os.close(read_end)
            os.write(write_end, " ".join(str(uids.allocate_uid(lambda uid: False)) for _ in range(count)).encode())
            os._exit(0)
        os.close(write_end)
        pipes.append(read_end)
    handed = []
    for read_end in pipes:
        with os.fdopen(read_end) as stream:
            handed += [int(uid) for uid in stream.read().split()]
    for _ in pipes:
        os.wait()
    return handed


def test_uids_are_handed_out_once_across_processes_and_wrap_only_at_the_end(tmp_path, monkeypatch):

    folder = tmp_path / "uids"
    monkeypatch.setattr(uids, "UID_DIR", folder)
    handed = _allocate_in_children(40, 4)
    assert len(handed) == 160 and len(set(handed)) == 160
    (folder / "next").write_text(str(UID_COUNT - 2))
    busy = {FIRST_UID + UID_COUNT - 1}  # still running since the last cycle: skipped
    assert [uids.allocate_uid(busy.__contains__) for _ in range(2)] == [FIRST_UID + UID_COUNT - 2, FIRST_UID]
    folder.chmod(0o755)  # a folder others could have prepared is refused
    with pytest.raises(RuntimeError, match="mode 0700"):
        uids.allocate_uid(busy.__contains__)
