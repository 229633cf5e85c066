"""Hostile submissions of the tiny assignment, each with the score it must get (never more than
it earned honestly) and, where useful, what its executed notebook must show.

``hostile_cases(env)`` builds them for one test run; ``env`` holds the tiny course root, the
port of a loopback listener on the host, and a host folder that only an escape could write to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder import paths
from tests.courses.tiny import TINY_CHECKS, code, notebook_bytes, released_cells, tiny_cells


@dataclass
class Case:
    """One submission: its bytes, the score and status it must get, and the text its executed
    notebook must show (``shows``) or must not show (``hides``)."""

    name: str
    data: bytes
    score: float
    status: str = "graded"
    shows: tuple[str, ...] = ()
    hides: tuple[str, ...] = ()
    outcomes: dict | None = None  # check name -> outcome


def nb(**kwargs) -> bytes:
    return notebook_bytes(tiny_cells(**kwargs))


IGNORE_SIGNALS = """
import signal
def ignore():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(s, signal.SIG_IGN)
"""

WRONG_ADD = "def add(a, b):\n    return a - b"

PATCH_ASSERTS = """
import builtins, numpy.testing, unittest
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.testing.assert_array_equal = lambda *a, **k: None
np.allclose = lambda *a, **k: True
unittest.TestCase.assertEqual = lambda *a, **k: None
builtins.AssertionError = type("Nope", (Exception,), {})
"""

ALWAYS_EQUAL = """
class Anything(int):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = int.__hash__

class Whatever:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __float__(self): return 0.0
    def __len__(self): return 0

def add(a, b):
    return Anything(0)

def scale(x, k):
    return Whatever()
"""

DAEMON = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        import signal
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        os.chdir("/")
        while True:
            time.sleep(1)
    os._exit(0)
os.wait()
print("daemon started")
"""

FORK_BOMB = """
import os, time
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(3600)
            os._exit(0)
        children += 1
except OSError as exc:
    print(f"fork refused after {children} children: {exc.strerror}")
"""

DISK_FILL = """
import os
try:
    with open("big.bin", "wb") as f:
        f.write(b"x" * (64 * 1024 * 1024))
except OSError as exc:
    print("one big file:", exc.strerror)
written = 0
try:
    for i in range(10_000):
        with open(f"part{i}.bin", "wb") as f:
            f.write(b"x" * (8 * 1024 * 1024))
        written += 1
except OSError as exc:
    print(f"many files: stopped after {written}: {exc.strerror}")
for name in os.listdir("."):
    if name.endswith(".bin"):
        os.remove(name)
"""

MEMORY_BOMB = """
try:
    hog = bytearray(6 * 1024 ** 3)
except MemoryError:
    print("memory bomb: MemoryError")
"""

SCALE_MEMORY = "def scale(x, k):\n    big = np.ones(10**10)\n    return np.asarray(x, dtype=np.float64) * k"

FORGE_REPLIES = """
ip = get_ipython()
original = ip.display_pub.publish
def forged(data, metadata=None, **kw):
    for key, reply in list(data.items()):
        if isinstance(reply, dict) and "id" in reply:
            data[key] = {"id": reply["id"], "ok": True, "value": 3, "buffers": []}
    return original(data, metadata, **kw)
ip.display_pub.publish = forged
"""

GARBAGE_REPLIES = """
ip = get_ipython()
original = ip.display_pub.publish
def garbage(data, metadata=None, **kw):
    for key, reply in list(data.items()):
        if isinstance(reply, dict) and "id" in reply:
            data[key] = {"id": reply["id"], "ok": True, "value": {"$nd": 0, "x": 1},
                         "buffers": ["A" * (30 * 1024 * 1024)]}
    return original(data, metadata, **kw)
ip.display_pub.publish = garbage
"""

STDERR_NOISE = """
import sys, warnings
def add(a, b):
    print("debug: adding", a, b, file=sys.stderr)
    warnings.warn("this is only a warning")
    return a + b
print("stderr output", file=sys.stderr)
warnings.warn("a warning at import time")
"""


def pickle_payload(marker: Path) -> str:
    return f"""
import os, pickle
class Evil:
    def __reduce__(self):
        return (os.system, ("touch {marker}",))
def add(a, b):
    return pickle.dumps(Evil())
def scale(x, k):
    return Evil()
"""


def network(port: int) -> str:
    return f"""
import socket
results = []
for host in ("127.0.0.1", "localhost", "::1"):
    try:
        s = socket.create_connection((host, {port}), timeout=2)
        s.sendall(b"PWNED")
        results.append(f"{{host}}: CONNECTED")
    except OSError as exc:
        results.append(f"{{host}}: blocked ({{type(exc).__name__}})")
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    results.append("internet: CONNECTED")
except OSError as exc:
    results.append(f"internet: blocked ({{type(exc).__name__}})")
print("; ".join(results))
"""


def read_secrets(paths_to_read: list[str]) -> str:
    return f"""
import os
found = []
for path in {paths_to_read!r}:
    try:
        with open(path, "rb") as f:
            found.append(path + " READABLE " + f.read(200).decode("utf-8", "replace"))
    except OSError as exc:
        found.append(path + " denied: " + type(exc).__name__)
for folder in ("/work", "/root", "/home", "/tmp", "/run/kernel"):
    try:
        found.append(folder + " lists " + repr(sorted(os.listdir(folder))[:20]))
    except OSError as exc:
        found.append(folder + " denied: " + type(exc).__name__)
found.append("env: " + " ".join(sorted(os.environ)))
found.append(f"uid {{os.getuid()}} euid {{os.geteuid()}}")
print("\\n".join(found))
"""


def write_outside(targets: list[str]) -> str:
    return f"""
outcomes = []
for path in {targets!r}:
    try:
        with open(path, "w") as f:
            f.write("PWNED")
        outcomes.append(path + " WRITTEN")
    except OSError as exc:
        outcomes.append(path + " refused: " + type(exc).__name__)
print("\\n".join(outcomes))
"""


def hostile_cases(course: Path, port: int, host_dir: Path) -> list[Case]:
    """Every hostile case (plus honest submissions that must still get full marks)."""
    repo = paths.course_root()
    secret_paths = [str(course / "solutions" / "tiny" / "tiny.ipynb"), str(course / "gradebook.db"),
                    str(course / "data" / "instructor" / "homework_heldout.npz"),
                    str(course / "submitted" / "someone" / "tiny" / "tiny.ipynb"),
                    str(repo / "solutions" / "xor" / "xor.ipynb"),
                    str(repo / "autograder" / "checks" / "xor" / "test_xor.py"),
                    str(TINY_CHECKS / "check_tiny.py"),
                    "/etc/shadow", "/root/.bash_history", "/proc/1/environ"]
    write_targets = [str(course / "PWNED"), str(host_dir / "PWNED"), str(repo / "PWNED"), "/work/PWNED",
                     "/root/PWNED", "/etc/PWNED", "/usr/PWNED", "/run/kernel/PWNED"]
    honest = nb()
    return [
        Case("honest_first", honest, 3),
        Case("replaces_assertion_helpers", nb(add=WRONG_ADD, before=[PATCH_ASSERTS]), 2),
        Case("eq_always_true", nb(after=[ALWAYS_EQUAL]), 1),
        Case("os_exit", nb(after=["import os\nos._exit(0)"]), 0,
             outcomes={"test_add": "error", "test_scale": "error", "test_counter": "error"}),
        Case("system_exit", nb(after=["raise SystemExit(1)", "import sys\nsys.exit(3)"]), 3),
        Case("segfault", nb(after=["import ctypes\nctypes.string_at(0)"]), 0),
        Case("infinite_loop_cell_and_call", nb(add="def add(a, b):\n    while abs(a) > 5:\n        pass\n    return a + b",
                                               after=["while True:\n    pass"]), 2,
             outcomes={"test_add": "timeout"}, shows=("timed out",)),
        Case("call_ignores_signals", nb(add=IGNORE_SIGNALS + "def add(a, b):\n    if abs(a) > 5:\n        ignore()\n"
                                                   "        while True:\n            pass\n    return a + b"),
             0, outcomes={"test_add": "timeout", "test_scale": "error", "test_counter": "error"}),
        Case("cell_ignores_signals", nb(after=[IGNORE_SIGNALS + "ignore()\nwhile True:\n    pass"]), 0,
             outcomes={"test_add": "timeout", "test_scale": "timeout", "test_counter": "timeout"}),
        Case("memory_bomb", nb(scale=SCALE_MEMORY, after=[MEMORY_BOMB]), 2, shows=("memory bomb: MemoryError",)),
        Case("fork_bomb", nb(after=[FORK_BOMB]), 3, shows=("fork refused",)),
        Case("daemon_outlives", nb(after=[DAEMON]), 3, shows=("daemon started",)),
        Case("disk_fill", nb(after=[DISK_FILL]), 3, shows=("File too large", "No space left on device")),
        Case("huge_output", nb(after=["print('x' * (20 * 1024 * 1024))", "for i in range(20000):\n    print('y' * 100)"]),
             3, shows=("exceeded the size limit", "output limit reached")),
        Case("network", nb(after=[network(port)]), 3, hides=("CONNECTED",), shows=("127.0.0.1: blocked",)),
        Case("reads_secrets", nb(after=[read_secrets(secret_paths)]), 3, hides=("READABLE",),
             shows=("gradebook.db denied", "uid 1")),  # a fresh uid: 1e9 and up
        Case("writes_outside", nb(after=[write_outside(write_targets)]), 3, hides=("WRITTEN",)),
        Case("pickled_payload", nb(after=[pickle_payload(host_dir / "UNPICKLED")]), 1),
        Case("enormous_returns", nb(add="def add(a, b):\n    x = []\n    for _ in range(100000):\n        x = [x]\n"
                                        "    return x",
                                    scale="def scale(x, k):\n    return np.zeros(50_000_000)"), 1),
        Case("forged_replies", nb(add=WRONG_ADD, scale="def scale(x, k):\n    return 3",
                                  counter="class Counter:\n    def __init__(self, start=0):\n        self.value = 0\n"
                                          "    def bump(self, n=1):\n        return 3",
                                  after=[FORGE_REPLIES]), 0),
        Case("garbage_replies", nb(after=[GARBAGE_REPLIES]), 0),
        Case("endless_iterator", nb(after=["import itertools\nCounter.history = lambda self: itertools.count()"]), 2,
             outcomes={"test_counter": "timeout", "test_add": "passed"}),
        Case("tampered_tests_and_points", notebook_bytes(_tampered()), 2),
        Case("stderr_and_warnings", nb(after=[STDERR_NOISE]), 3),
        Case("not_json", b"\x89PNG this is not a notebook {", 0, status="error"),
        Case("empty_file", b"", 0, status="error"),
        Case("cells_not_a_list", b'{"cells": "nope", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', 0,
             status="error"),
        Case("empty_notebook", notebook_bytes([]), 0),
        Case("blank_released", notebook_bytes(released_cells()), 0),
        Case("honest_last", honest, 3),
    ]


def _tampered():
    cells = tiny_cells(add=WRONG_ADD, tests={"test_add": "print('all tests passed')"})
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["points"] = 100
    cells.append(code("print('bonus')", grade_id="bonus_cell", grade=True, locked=True, points=1000))
    return cells

