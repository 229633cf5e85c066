"""Sandboxed kernels that do not pay Python start-up and ``import torch`` per notebook.

A :class:`Zygote` is one long-lived process in a bubblewrap sandbox (built with the sandbox's
own :func:`~autograder.sandbox.bwrap.bwrap_args`: no network, read-only system, nothing of
the course) that imports numpy, torch, matplotlib and ipykernel once and then forks one kernel
per submission (:mod:`autograder.sandbox.zygote_server` says how each child is isolated: own
mount, network, IPC and PID namespaces, own tmpfs working directory, a fresh unprivileged uid,
rlimits, no capabilities, the sandbox's seccomp filter). Memory is shared copy-on-write; a
kernel is ready in tens of milliseconds instead of seconds. The zygote itself runs without the
filter (it must mount and unshare to build its children); each child gets the compiled program
(:func:`autograder.sandbox.seccomp.bpf_program`) in its fork request and loads it itself.

:class:`ZygoteKernel` is a :class:`~autograder.sandbox.kernel.SandboxKernel` whose process comes
from the zygote instead of a fresh bwrap; the notebook runner and the student proxy use it
unchanged. Each kernel holds its own sandbox slot (:class:`~autograder.sandbox.launcher.Slot`)
with a uid no other sandbox had, and closing it kills its namespace and reaps the uid.
Only a grader running as root can switch uids; otherwise :func:`kernel_factory` falls back to
the plain :class:`SandboxKernel`.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import functools
import json
import multiprocessing.util
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from autograder.sandbox import seccomp
from autograder.sandbox.bwrap import HOME, RUN_DIR, Mount, bwrap_args, etc_files, interpreter_prefixes, write_etc
from autograder.sandbox.cgroup import SandboxCgroup, sandbox_cgroup
from autograder.sandbox.kernel import KernelDied, SandboxKernel
from autograder.sandbox.launcher import Sandbox, Slot, kill_group, processes_of, rlimits
from autograder.sandbox.limits import Limits
from autograder.sandbox.procfs import is_running, stat_fields
from autograder.sandbox.uids import is_root

SERVER_SOURCE = (Path(__file__).with_name("zygote_server.py")).read_text()
STAGE = "/opt/autograder-files"
# torch._dynamo is what the first torch.optim optimizer of a process imports (1.1 s, sympy included).
# Not matplotlib_inline's backend: imported before the kernel's shell exists, it never hooks into
# that shell and figures are no longer shown.
PRELOAD = ("numpy", "torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch._dynamo", "torch.utils.data",
           "PIL.Image", "matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg", "IPython",
           "ipykernel.kernelapp", "ipykernel.ipkernel")


class ZygoteUnavailable(RuntimeError):
    """The zygote could not start or died; callers fall back to a fresh sandbox."""


@functools.lru_cache(maxsize=1)
def _filter_text() -> str:
    """The compiled seccomp filter as it travels in a fork request."""
    return base64.b64encode(seccomp.bpf_program()).decode()


def _children(pid: int) -> list[int]:
    """Host PIDs of the direct children of ``pid``."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _server_pid(bwrap_pid: int) -> int:
    """The host PID of the zygote server: the end of the chain bwrap -> bwrap (PID 1) -> python."""
    pid = bwrap_pid
    while True:
        children = _children(pid)
        if len(children) != 1:
            return pid
        pid = children[0]


def _sweep_stale() -> None:
    """Delete the folders of zygotes whose grader process died without cleaning up (kill -9)."""
    for folder in Path(tempfile.gettempdir()).glob("autograder-zygote-*"):
        try:
            owner = int((folder / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if not Path(f"/proc/{owner}").exists():
            shutil.rmtree(folder, ignore_errors=True)


class Zygote:
    """The pre-warmed process for one set of assignment files (see the module docstring)."""

    def __init__(self, limits: Limits, mounts: list[Mount] = (), preload: tuple[str, ...] = PRELOAD,
                 timeout: float = 120.0):
        _sweep_stale()
        self.limits = limits
        self.mounts = list(mounts)
        # the interpreter's folders under what each kernel replaces with a fresh tmpfs: bound back
        self.keep = [p for p in interpreter_prefixes()
                     if any(p.startswith(top + "/") for top in (HOME, "/tmp", "/dev/shm"))]
        self.workdir = Path(tempfile.mkdtemp(prefix="autograder-zygote-"))
        (self.workdir / "owner.pid").write_text(str(os.getpid()))
        self.run_dir = self.workdir / "run"  # one sub-folder per kernel, bound at RUN_DIR
        self.run_dir.mkdir(mode=0o711)
        write_etc(self.workdir / "etc", None)  # each child binds its own passwd/group naming its uid
        self._lock = threading.Lock()
        # the zygote's own cgroup; each fork happens while it stands in the student's (see fork)
        self.cgroup = sandbox_cgroup(limits)
        env = {"PATH": "/usr/bin:/bin", "HOME": HOME, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
               "MPLBACKEND": "module://matplotlib_inline.backend_inline", "MPLCONFIGDIR": "/tmp/mpl",
               "OMP_NUM_THREADS": str(limits.threads),
               "MKL_NUM_THREADS": str(limits.threads), "OPENBLAS_NUM_THREADS": str(limits.threads)}
        command = bwrap_args(limits, env, [], self.run_dir, self.workdir / "etc")
        for index, mount in enumerate(self.mounts):
            command += ["--ro-bind", str(mount.host), f"{STAGE}/{index}"]
        config = {"preload": list(preload)}
        command += [sys.executable, "-I", "-c", SERVER_SOURCE, json.dumps(config)]
        self.log = open(self.workdir / "zygote.log", "wb")  # noqa: SIM115 - the zygote's stderr for its lifetime
        start = time.monotonic()
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     cwd="/", env={"PATH": "/usr/bin:/bin"}, start_new_session=True, close_fds=True,
                                     preexec_fn=self.cgroup.preexec() if self.cgroup else None)
        ready = self._reply(timeout)
        if not ready.get("ready"):
            self.close()
            raise ZygoteUnavailable(f"the zygote did not start: {ready}")
        self.server_pid = _server_pid(self.proc.pid)
        self.preloaded = ready.get("preloaded", [])
        self.start_seconds = time.monotonic() - start

    def _reply(self, timeout: float) -> dict:
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not line or not line[0]:
            tail = (self.workdir / "zygote.log").read_bytes()[-600:].decode("utf-8", "replace")
            return {"error": f"no answer from the zygote ({tail.strip() or 'no output'})"}
        try:
            return json.loads(line[0])
        except ValueError:
            return {"error": "garbled answer from the zygote"}

    def alive(self) -> bool:
        """True while the zygote runs."""
        return self.proc.poll() is None

    def fork(self, request: dict, cgroup: SandboxCgroup | None = None) -> None:
        """Ask for one child kernel (see zygote_server), born in ``cgroup``; raise ZygoteUnavailable
        when it cannot. cgroup membership is inherited at fork: the zygote (which runs nothing of
        any student) stands in the student's cgroup from the request until the fork's reply."""
        with self._lock:
            if not self.alive():
                raise ZygoteUnavailable("the zygote is not running")
            moved = cgroup is not None and self.cgroup is not None
            try:
                if moved:
                    cgroup.attach(self.server_pid)
                self.proc.stdin.write((json.dumps(request) + "\n").encode())
                self.proc.stdin.flush()
                reply = self._reply(10.0)
            except OSError as exc:
                raise ZygoteUnavailable(f"the zygote is gone ({exc})") from None
            finally:
                if moved and self.alive():
                    self.cgroup.attach(self.server_pid)
        if "pid" not in reply:
            raise ZygoteUnavailable(f"the zygote could not fork: {reply.get('error', reply)}")

    def close(self) -> None:
        """Kill the zygote (its kernels have their own slots and are closed by their owners)."""
        kill_group(self.proc)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self.log.close()
        if self.cgroup is not None:
            self.cgroup.close()
            self.cgroup = None
        shutil.rmtree(self.workdir, ignore_errors=True)


def _ns_init_pid(uid: int) -> int | None:
    """The host PID of the init (NSpid ... 1) of the namespace whose processes run as ``uid``."""
    for pid in processes_of(uid):
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("NSpid:"):
                        if line.split()[-1] == "1":
                            return pid
                        break
        except OSError:
            continue
    return None


class ForkedSandbox(Sandbox):
    """The host's handle on one zygote child: the same interface as a bwrap ``Sandbox``."""

    def __init__(self, zygote: Zygote, limits: Limits):
        self.zygote, self.limits, self.secure, self.mounts = zygote, limits, True, zygote.mounts
        self.home, self.proc, self.started_at = HOME, None, None
        self.slot: Slot | None = Slot()
        self.cgroup = sandbox_cgroup(limits)
        self.nonce = secrets.token_hex(8)
        self.workdir = zygote.run_dir / self.nonce
        self.run_dir = self.workdir
        self.run_dir.mkdir(mode=0o700)
        os.chown(self.run_dir, self.slot.uid, self.slot.uid)
        self.run_inside = f"{RUN_DIR}/{self.nonce}"
        self.log_path = self.run_dir / "kernel.log"
        self.init_pid: int | None = None

    def start(self, env: dict[str, str]) -> None:
        """Fork the kernel in the zygote with ``env`` added to :meth:`base_env`."""
        request = {
            "uid": self.slot.uid, "home": HOME, "home_size": self.limits.scratch_size,
            "tmp_size": self.limits.tmp_size, "env": {**self.base_env(), **env},
            "rlimits": rlimits(self.limits), "log": f"{self.run_inside}/kernel.log",
            "connection_file": f"{self.run_inside}/kernel.json",
            "mounts": [[f"{STAGE}/{i}", m.dest] for i, m in enumerate(self.mounts)],
            "keep": self.zygote.keep,
            "etc": {name: text for name, text in etc_files(self.slot.uid).items() if name != "hosts"},
            "seccomp": _filter_text() if self.filter_syscalls else "",
        }
        self.started_at = time.monotonic()
        self.zygote.fork(request, self.cgroup)

    def lock_run_dir(self) -> None:
        """After the kernel bound its sockets: the student may no longer write the host folder."""
        os.chown(self.run_dir, 0, 0)
        os.chmod(self.run_dir, 0o700)
        self.init_pid = _ns_init_pid(self.slot.uid)

    def alive(self) -> bool:
        """True while the student's namespace (its init) runs."""
        if self.slot is None:
            return False
        if self.init_pid is not None:
            return is_running(self.init_pid)
        if "zygote: " in self.log_tail(400):  # the child reported a failed set-up
            return False
        return self.zygote.alive() and (time.monotonic() - (self.started_at or 0) < 5.0
                                        or _ns_init_pid(self.slot.uid) is not None)

    def close(self) -> None:
        """Kill the student's namespace and every process of its uid; free the slot."""
        if self.init_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.init_pid, signal.SIGKILL)
        self.close_cgroup()
        if self.slot is not None:
            self.slot.release()  # reaps every process of the uid
            self.slot = None
        shutil.rmtree(self.run_dir, ignore_errors=True)


class ZygoteKernel(SandboxKernel):
    """A sandboxed kernel forked from a :class:`Zygote` (same interface as SandboxKernel)."""

    def __init__(self, zygote: Zygote, limits: Limits, env: dict[str, str] | None = None):
        sandbox = ForkedSandbox(zygote, limits)
        self._boot(limits, sandbox, env, sandbox.start)


_ZYGOTES: dict[tuple, Zygote] = {}
_FINALIZER_PID: list[int] = []  # the process that registered close_all with multiprocessing


def _zygote_for(limits: Limits, mounts: list[Mount]) -> Zygote:
    key = (limits, tuple((str(m.host), m.dest) for m in mounts), threading.get_ident())
    zygote = _ZYGOTES.get(key)
    if zygote is None or not zygote.alive():
        if zygote is not None:
            zygote.close()
        _close_at_exit()
        zygote = _ZYGOTES[key] = Zygote(limits, mounts)
    return zygote


def close_all() -> None:
    """Stop every zygote of this process."""
    while _ZYGOTES:
        _ZYGOTES.popitem()[1].close()


def _close_at_exit() -> None:
    """Stop this process's zygotes when it ends. Worker processes of multiprocessing (the local
    pool, Dask's nanny) end without atexit, and one forked from a process that imported this
    module (a forkserver's preload) starts with no finalizer: registered once per process."""
    if os.getpid() not in _FINALIZER_PID:
        _FINALIZER_PID[:] = [os.getpid()]
        multiprocessing.util.Finalize(None, close_all, exitpriority=10)


atexit.register(close_all)


def kernel_factory(limits: Limits, mounts: list[Mount] = (), env: dict[str, str] | None = None,
                   secure: bool = True) -> SandboxKernel:
    """A sandboxed kernel: forked from this thread's zygote for these files when possible
    (grader running as root, sandbox on), else a fresh :class:`SandboxKernel`."""
    if secure and is_root():
        try:
            return ZygoteKernel(_zygote_for(limits, list(mounts)), limits, env)
        except (ZygoteUnavailable, KernelDied):
            pass
    return SandboxKernel(limits, mounts, env=env, secure=secure)
