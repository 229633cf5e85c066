"""The sandbox itself: what student code can see and do, its limits, two concurrent sandboxes,
processes dying with the grader, the run_notebook API, and refusing loudly without bwrap."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from autograder.errors import UserError
from autograder.proxy.run import run_notebook
from autograder.sandbox import probe
from autograder.sandbox.bwrap import Mount, bwrap_args, interpreter_prefixes
from autograder.sandbox.execute import execute_notebook
from autograder.sandbox.kernel import SandboxKernel
from autograder.sandbox.launcher import processes_of
from autograder.sandbox.limits import MIB, Limits
from autograder.sandbox.uids import FIRST_UID, UID_COUNT, is_root

SMALL = Limits(cell_timeout=10, notebook_timeout=60, call_timeout=5, memory=1024 * MIB, nproc=32, nofile=128,
               scratch_size=32 * MIB, file_size=4 * MIB)


def run_cells(kernel, *sources):
    """Execute cells; return (report, list of each cell's text output)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent(s)) for s in sources])
    report = execute_notebook(kernel, nb)
    texts = ["".join(o.get("text", "") + o.get("evalue", "") for o in cell.outputs) for cell in nb.cells]
    return report, texts


def last_json(text: str):
    return json.loads(text.strip().splitlines()[-1])


def test_this_machine_provides_every_protection():
    assert probe.missing_protections() == ()
    assert is_root(), "the suite runs as root here: the sandbox must drop to an unprivileged uid"


def test_student_code_sees_nothing_of_the_grader(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_TEST_SECRET", "hunter2")
    monkeypatch.setenv("JPY_PARENT_PID", str(os.getpid()))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    given = tmp_path / "given.txt"
    given.write_text("course data")
    with SandboxKernel(SMALL, [Mount(given, "data/given.txt")], env={"WHERE": "{home}/data"}) as kernel:
        report, texts = run_cells(kernel, f"""
            import json, os, resource, socket
            facts = {{"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid(),
                     "cwd": os.getcwd(), "env": dict(os.environ), "root": sorted(os.listdir("/")),
                     "work": sorted(os.listdir("{Path.cwd().anchor}work")) if os.path.exists("/work") else [],
                     "course": os.path.exists("{Path(__file__).resolve().parents[2]}/solutions"),
                     "given": open(os.environ["WHERE"] + "/given.txt").read(),
                     "status": {{l.split(":")[0]: l.split(":")[1].strip() for l in open("/proc/self/status")
                                if l.startswith(("CapEff", "CapPrm", "CapBnd", "NoNewPrivs"))}},
                     "as": resource.getrlimit(resource.RLIMIT_AS)[0],
                     "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
                     "hostname": socket.gethostname()}}
            try:
                socket.create_connection(("127.0.0.1", {listener.getsockname()[1]}), timeout=2)
                facts["net"] = "connected"
            except OSError as exc:
                facts["net"] = type(exc).__name__
            try:
                open(os.environ["WHERE"] + "/given.txt", "a")
                facts["given_writable"] = True
            except OSError:
                facts["given_writable"] = False
            try:
                import autograder.checks
                facts["grader_importable"] = True
            except ImportError:
                facts["grader_importable"] = False
            print(json.dumps(facts))
            """)
        uid = kernel.sandbox.slot.uid
        pids = processes_of(uid)
    listener.close()
    assert report.status == "ok", texts
    facts = last_json(texts[0])
    assert FIRST_UID <= facts["uid"] == facts["gid"] == uid < FIRST_UID + UID_COUNT and facts["groups"] in ([], [uid])
    assert facts["status"] == {"CapEff": "0" * 16, "CapPrm": "0" * 16, "CapBnd": "0" * 16, "NoNewPrivs": "1"}
    assert facts["pid"] < 20, "the kernel must be in its own PID namespace"
    assert facts["cwd"] == "/home/student" and facts["hostname"] == "sandbox"
    assert "AUTOGRADER_TEST_SECRET" not in facts["env"] and "JPY_PARENT_PID" not in facts["env"]
    # only the interpreter's prefixes are bound (read-only, at their own paths): besides the system folders,
    # / shows just their top folders and /work just their folders under /work (the repo's, not its siblings)
    bound = [Path(p).parts for p in interpreter_prefixes()]
    assert not facts["course"]
    assert set(facts["work"]) <= {parts[2] for parts in bound if len(parts) > 2 and parts[1] == "work"}
    assert set(facts["root"]) <= {"bin", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "proc", "root",
                                  "run", "sbin", "tmp", "usr"} | {parts[1] for parts in bound}
    assert facts["given"] == "course data" and facts["given_writable"] is False
    assert facts["grader_importable"] is False, "the grader's package (hidden checks) is visible in the sandbox"
    assert facts["net"] in ("ConnectionRefusedError", "OSError", "TimeoutError")
    assert facts["as"] == SMALL.memory and facts["nproc"] == SMALL.nproc
    assert pids and not any(Path(f"/proc/{pid}").exists() for pid in pids)


def test_limits_hold(tmp_path):
    with SandboxKernel(SMALL.with_(cell_timeout=2)) as kernel:
        report, texts = run_cells(
            kernel,
            """
            import os
            try:
                hog = bytearray(2 * 1024 ** 3)
            except MemoryError:
                print("memory: refused")
            try:
                open("big", "wb").write(b"x" * (8 * 1024 * 1024))
            except OSError as exc:
                print("file size:", exc.strerror)
            files = []
            try:
                for i in range(1000):
                    files.append(open("/dev/null"))
            except OSError as exc:
                print("open files:", exc.strerror)
            for f in files:
                f.close()
            """,
            "while True:\n    pass",   # interrupted at the cell's time limit
            "print('still alive')",
        )
        assert "memory: refused" in texts[0] and "File too large" in texts[0] and "Too many open files" in texts[0]
        assert report.timed_out_cells == [1] and "still alive" in texts[2]
    with SandboxKernel(SMALL.with_(cpu_seconds=2, cell_timeout=30)) as kernel:
        start = time.monotonic()
        report, texts = run_cells(kernel, "x = 0\nwhile True:\n    x += 1")  # burns CPU past RLIMIT_CPU
        assert report.status == "died" and not kernel.alive() and time.monotonic() - start < 20


def test_two_sandboxes_cannot_reach_each_other():
    with SandboxKernel(SMALL) as a, SandboxKernel(SMALL) as b:
        assert a.sandbox.slot.uid != b.sandbox.slot.uid
        host_pids_a = processes_of(a.sandbox.slot.uid)
        assert host_pids_a
        _, texts = run_cells(a, "import os\nopen('secret.txt', 'w').write('A-SECRET-1234')\nprint(os.getpid())")
        _, texts_b = run_cells(b, f"""
            import os, signal
            found = []
            for top in ("/home", "/tmp", "/dev/shm", "/run"):
                for folder, dirs, files in os.walk(top):
                    for name in files:
                        try:
                            if name == "secret.txt" or b"A-SECRET-1234" in open(os.path.join(folder, name), "rb").read(4096):
                                found.append(os.path.join(folder, name))
                        except OSError:
                            pass
            killed = []
            for pid in {host_pids_a!r} + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
                if pid != os.getpid():
                    try:
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                    except OSError as exc:
                        pass
            print("found", found)
            print("visible", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
            """)
        assert "found []" in texts_b[0], texts_b
        visible = json.loads(texts_b[0].split("visible")[1].strip())
        assert not set(visible) & set(host_pids_a) and max(visible) < 50
        assert a.alive(), "sandbox B killed sandbox A's kernel"
        _, texts = run_cells(a, "print(open('secret.txt').read())")
        assert "A-SECRET-1234" in texts[0]


def test_every_process_dies_with_a_killed_grader(tmp_path):
    """kill -9 of the grading process: bwrap's --die-with-parent takes the whole sandbox down."""
    script = tmp_path / "grader.py"
    script.write_text(textwrap.dedent("""
        import sys, time, nbformat
        from autograder.sandbox.kernel import SandboxKernel
        from autograder.sandbox.execute import execute_notebook
        from autograder.sandbox.limits import Limits
        kernel = SandboxKernel(Limits())
        cell = "import os, time\\nif os.fork() == 0:\\n    os.setsid()\\n    time.sleep(600)\\nprint('forked')"
        execute_notebook(kernel, nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)]))
        print(kernel.sandbox.slot.uid, flush=True)
        time.sleep(600)
        """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        uid = int(proc.stdout.readline())
        pids = processes_of(uid)  # ours: the slot's lock is held by the grader
        assert len(pids) >= 2
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)


def test_run_notebook_collects_files(tmp_path):
    data = tmp_path / "competition"
    data.mkdir()
    (data / "test.csv").write_text("id\nq1\nq2\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os, pathlib\nroot = pathlib.Path(os.environ['QUICKDRAW_COMPETITION'])\n"
                                  "ids = root.joinpath('test.csv').read_text().split()[1:]\n"
                                  "pathlib.Path('predictions.csv').write_text('id,label\\n' + "
                                  "''.join(f'{i},1\\n' for i in ids))"),
        nbformat.v4.new_code_cell("print('done')")])
    path = tmp_path / "starter.ipynb"
    nbformat.write(nb, path)
    result = run_notebook(path, files={"data/competition": data},
                          env={"QUICKDRAW_COMPETITION": "{home}/data/competition"},
                          collect=["predictions.csv", "missing.csv"], limits=SMALL)
    assert result.status == "ok", result.error
    assert result.files == {"predictions.csv": b"id,label\nq1,1\nq2,1\n"}
    assert result.missing == ["missing.csv"]
    assert "done" in result.notebook.cells[1].outputs[0]["text"]
    assert set(result.timings) == {"start", "execute"}
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    assert run_notebook(broken, limits=SMALL).status == "failed"


def test_insecure_mode_runs_without_the_sandbox(tmp_path, capsys):
    path = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\nopen('out.txt', 'w').write(str(os.getpid() > 100))")]), path)
    result = run_notebook(path, collect=["out.txt"], limits=SMALL, secure=False)
    assert result.status == "ok" and result.files == {"out.txt": b"True"}  # no PID namespace
    assert "WARNING: --insecure-no-sandbox" in capsys.readouterr().err


def test_refuses_loudly_without_the_mechanisms(monkeypatch, capsys):
    monkeypatch.setattr(probe, "missing_protections", lambda: ("bubblewrap (`bwrap`) is not installed",))
    with pytest.raises(UserError, match="cannot sandbox student code: bubblewrap .* --insecure-no-sandbox"):
        probe.require_sandbox()
    assert probe.require_sandbox(insecure=True) is False
    assert "WARNING" in capsys.readouterr().err


def test_an_interpreter_under_tmp_is_bound_over_the_fresh_tmp(monkeypatch):
    # a clone under /tmp puts its venv there; the sandbox's own /tmp tmpfs must not hide it
    monkeypatch.setattr(sys, "prefix", "/tmp/clone/.venv")
    args = bwrap_args(SMALL, {})
    tmpfs_tmp = next(i for i in range(len(args) - 1) if args[i:i + 2] == ["--tmpfs", "/tmp"])
    bind = next(i for i in range(len(args) - 2) if args[i:i + 3] == ["--ro-bind", "/tmp/clone/.venv", "/tmp/clone/.venv"])
    assert tmpfs_tmp < bind
    assert args.count("/tmp/clone") == 1, "the venv's parent folder is made once, inside the fresh /tmp"
