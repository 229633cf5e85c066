"""Kernels forked from a pre-warmed zygote: torch already imported, and still one sandbox per
student - two concurrent students cannot read each other's files, signal each other's
processes, reach each other's sockets or see each other's memory, and nothing outlives a kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.sandbox.bwrap import Mount, interpreter_prefixes
from autograder.sandbox.execute import execute_notebook
from autograder.sandbox.launcher import processes_of
from autograder.sandbox.limits import Limits
from autograder.sandbox.probe import missing_protections
from autograder.sandbox.uids import is_root
from autograder.sandbox.zygote import Zygote, ZygoteKernel, kernel_factory

pytestmark = pytest.mark.skipif(not is_root() or bool(missing_protections()),
                                reason="the zygote needs root and bubblewrap (as the grading machine has)")

REPO = Path(sys.prefix).parent  # the venv lives in the course repo
LIMITS = Limits(cell_timeout=20, notebook_timeout=60)
SECRET = "the-secret-of-student-A-5e1f"


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    files = tmp_path_factory.mktemp("files")
    (files / "given.csv").write_text("x\n1\n")
    (files / "given.csv").chmod(0o666)  # writable by anyone: only the read-only bind protects it
    z = Zygote(LIMITS, [Mount(files / "given.csv", "given.csv")])
    yield z
    z.close()


def run(kernel, *sources: str) -> list[str]:
    """Execute cells; return each cell's text output (stdout, results, errors)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    execute_notebook(kernel, nb)
    texts = []
    for cell in nb.cells:
        parts = []
        for out in cell.outputs:
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type == "error":
                parts.append(f"{out.ename}: {out.evalue}")
            else:
                parts.append(str(out.get("data", {}).get("text/plain", "")))
        texts.append("".join(parts).strip())
    return texts


def test_forked_kernel_is_sandboxed_and_prewarmed(zygote):
    assert "torch" in zygote.preloaded
    start = time.monotonic()
    with ZygoteKernel(zygote, LIMITS) as kernel:
        assert time.monotonic() - start < 5
        out = run(kernel,
                  "import os, sys; print(os.getuid(), os.getpid(), 'torch' in sys.modules, os.getcwd())",
                  "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])",
                  "print(open('given.csv').read().strip()); open('given.csv', 'a')",
                  "import socket; s = socket.socket(); s.settimeout(2); s.connect(('1.1.1.1', 80))",
                  f"print(sorted(os.listdir('/home')), os.listdir({str(REPO)!r}), os.path.exists('/root/.ssh'))",
                  "import torch; print(float(torch.ones(3).sum()), 'torch._dynamo' in sys.modules)")
        # a figure still reaches the notebook (the inline backend hooks into this kernel's shell)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()")])
        execute_notebook(kernel, nb)
        assert [o for o in nb.cells[0].outputs if "image/png" in o.get("data", {})], nb.cells[0].outputs
    uid, pid, preloaded, cwd = out[0].split()
    assert int(uid) >= 61000 and pid == "2" and preloaded == "True" and cwd == "/home/student"
    assert out[1] == "0000000000000000"
    assert out[2].startswith("x\n1") and "Read-only file system" in out[2]
    assert "OSError" in out[3] or "unreachable" in out[3]
    assert out[4] == "['student'] ['.venv'] False"  # of the course repo only the venv is there
    assert out[5] == "3.0 True"  # the optimizers' lazy import is already paid for


def test_two_concurrent_students_are_isolated(zygote):
    a = ZygoteKernel(zygote, LIMITS)
    b = ZygoteKernel(zygote, LIMITS)
    try:
        uid_a, uid_b = a.sandbox.slot.uid, b.sandbox.slot.uid
        assert uid_a != uid_b
        setup = run(a,
                    f"SECRET = {SECRET!r}\n"
                    "import os, socket, subprocess, sys\n"
                    "for path in ('secret.txt', '/tmp/secret.txt', '/dev/shm/secret'):\n"
                    "    open(path, 'w').write(SECRET); os.chmod(path, 0o666)\n"
                    "server = socket.socket(socket.AF_UNIX); server.bind('\\0' + SECRET); server.listen()\n"
                    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', SECRET])\n"
                    "print(child.pid)")
        assert setup[0].isdigit()
        attack = run(b,
                     "import glob, os, signal, socket\n"
                     "found = []\n"
                     "for path in glob.glob('/proc/*/cmdline') + glob.glob('/proc/*/environ'):\n"
                     "    try:\n"
                     f"        found += [path] if {SECRET!r}.encode() in open(path, 'rb').read() else []\n"
                     "    except OSError:\n"
                     "        pass\n"
                     "for path in ('secret.txt', '/tmp/secret.txt', '/dev/shm/secret'):\n"
                     "    found += [path] if os.path.exists(path) else []\n"
                     "mine = {1} | {int(t) for t in os.listdir('/proc/self/task')}  # own init and threads\n"
                     "for pid in range(1, 400):\n"
                     "    try:\n"
                     "        os.kill(pid, 0) if pid in mine else os.kill(pid, signal.SIGKILL)\n"
                     "    except OSError:\n"
                     "        pass\n"
                     "try:\n"
                     f"    socket.socket(socket.AF_UNIX).connect('\\0' + {SECRET!r}); found.append('socket')\n"
                     "except OSError:\n"
                     "    pass\n"
                     "pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
                     "print(found, pids)")
        assert "] [" in attack[0], attack
        found, pids = attack[0].split("] ", 1)
        assert found == "["  # nothing of A was visible or reachable
        assert max(eval(pids)) < 50  # B's namespace holds only B's few processes
        check = run(a, "print(open('secret.txt').read() == SECRET, child.poll() is None)")
        assert check == ["True True"]  # B's kill sweep did not reach A's processes
        assert len(processes_of(uid_a)) >= 3  # init, kernel, the child
    finally:
        a.close()
        b.close()
    assert processes_of(uid_a) == [] and processes_of(uid_b) == []


def test_nothing_survives_a_kernel_and_the_next_one_starts_clean(zygote):
    with ZygoteKernel(zygote, LIMITS) as first:
        uid = first.sandbox.slot.uid
        run(first, "import subprocess, os\nopen('left.txt', 'w').write('x')\n"
                   "subprocess.Popen(['sh', '-c', 'setsid sleep 300 &'])")
        time.sleep(0.3)
        assert len(processes_of(uid)) >= 3
    assert processes_of(uid) == []
    with ZygoteKernel(zygote, LIMITS) as second:
        listing = run(second, "import os; print(sorted(os.listdir('.')), sorted(os.listdir('/tmp')))")
        # the kernel's own .ipython, nothing left over; /tmp holds only the way to a venv kept there
        in_tmp = sorted({Path(p).parts[2] for p in interpreter_prefixes() if p.startswith("/tmp/")})
        assert listing == [f"['.ipython', 'given.csv'] {in_tmp}"]


def test_a_dying_kernel_is_noticed_and_the_factory_falls_back_cleanly(zygote):
    with ZygoteKernel(zygote, LIMITS) as kernel:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os; os._exit(3)"),
                                             nbformat.v4.new_code_cell("print('never')")])
        report = execute_notebook(kernel, nb)
        assert report.status == "died" and not kernel.alive()
    kernel = kernel_factory(LIMITS, [], secure=True)
    try:
        assert type(kernel).__name__ == "ZygoteKernel"
        assert run(kernel, "print(6 * 7)") == ["42"]
    finally:
        kernel.close()
    assert os.geteuid() == 0


def test_an_interpreter_under_tmp_survives_the_childs_fresh_tmp(tmp_path):
    # a clone under /tmp has its venv there; each forked kernel mounts a fresh /tmp and must bind it back
    assert str(tmp_path).startswith("/tmp/")
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "marker").write_text("python lives here")
    (tmp_path / "home").mkdir()
    (tmp_path / "left-behind").write_text("not for the student")
    req = {"uid": 61000, "home": str(tmp_path / "home"), "home_size": 1 << 20, "tmp_size": 1 << 20,
           "mounts": [], "keep": [str(venv)], "etc": {"passwd": "student:x:61000:61000::/:/bin/sh\n"}}
    probe = f"""
import json, os, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from autograder.sandbox.zygote_server import _private_filesystem
_private_filesystem(json.loads({json.dumps(req)!r}))
try:
    open({str(venv / "new")!r}, "w")
    writable = True
except OSError:
    writable = False
print(json.dumps({{"marker": open({str(venv / "marker")!r}).read(), "writable": writable,
                  "left": os.path.exists({str(tmp_path / "left-behind")!r}), "passwd": open("/etc/passwd").read(),
                  "staged": os.path.exists("/tmp/.passwd")}}))
"""
    out = subprocess.run(["unshare", "--mount", sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"marker": "python lives here", "writable": False, "left": False,
                                      "passwd": "student:x:61000:61000::/:/bin/sh\n", "staged": False}
