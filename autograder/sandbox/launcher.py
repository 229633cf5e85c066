"""One sandboxed process tree: started in bubblewrap, an unprivileged uid, rlimits, its own cgroup.

What the sandbox contains is the command line of :mod:`autograder.sandbox.bwrap`. When the grader
is root, each sandbox runs as a fresh uid (:mod:`autograder.sandbox.uids`: never one an earlier
sandbox had) with no capabilities, so no per-uid kernel state passes between students and
RLIMIT_NPROC and signals stay per student. A slot (an exclusive file lock) counts the concurrent
sandboxes. bwrap loads the sandbox's seccomp filter (:mod:`autograder.sandbox.seccomp`) before it
starts the program. Killing bwrap kills the PID namespace, hence every process the student
started; leftovers of the uid are reaped when the slot is released. The whole tree lives in the
sandbox's own cgroup (:mod:`autograder.sandbox.cgroup`: memory, pids and CPU limits for all its
processes together), which bwrap joins before it execs.

A ``Sandbox`` must be started and closed by the same thread: bwrap's ``--die-with-parent``
watches the thread that spawned it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from autograder.sandbox import seccomp
from autograder.sandbox.bwrap import HOME, PYTHON, RUN_DIR, Mount, bwrap_args, drop_args, write_etc
from autograder.sandbox.cgroup import SandboxCgroup, sandbox_cgroup
from autograder.sandbox.limits import Limits
from autograder.sandbox.uids import allocate_uid, is_root

MAX_SLOTS = 128
SLOT_DIR = Path(os.environ.get("AUTOGRADER_SLOT_DIR", f"/tmp/autograder-slots-{os.geteuid()}"))


def rlimits(limits: Limits) -> list[tuple[int, int]]:
    """The (resource, value) pairs of ``limits`` that every sandboxed process gets as rlimits."""
    return [
        (resource.RLIMIT_AS, limits.memory),
        (resource.RLIMIT_CPU, int(limits.cpu_seconds)),
        (resource.RLIMIT_FSIZE, limits.file_size),
        (resource.RLIMIT_NPROC, limits.nproc),
        (resource.RLIMIT_NOFILE, limits.nofile),
        (resource.RLIMIT_CORE, 0),
    ]


def _apply_rlimits(pairs: list[tuple[int, int]]) -> None:
    for which, value in pairs:
        resource.setrlimit(which, (value, value))


def _preexec(pairs: list[tuple[int, int]], cgroup: SandboxCgroup | None):
    """In the forked child, before it execs (so before it can fork): join the cgroup, set rlimits."""
    join = cgroup.preexec() if cgroup is not None else None

    def run() -> None:
        if join is not None:
            join()
        _apply_rlimits(pairs)

    return run


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group led by ``proc`` unless it already exited, then reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def processes_of(uid: int) -> list[int]:
    """PIDs of every process (as seen from here) whose real uid is ``uid``."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as status:
                for line in status:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(entry.name))
                        break
        except (OSError, ValueError):
            continue
    return pids


def reap_uid(uid: int, timeout: float = 10.0) -> int:
    """SIGKILL every process of ``uid`` until none is left; return how many were seen."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while True:
        pids = processes_of(uid)
        if not pids:
            return len(seen)
        seen.update(pids)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of sandbox uid {uid} survive SIGKILL: {pids}")
        time.sleep(0.02)


def _has_processes(uid: int) -> bool:
    return bool(processes_of(uid))


class Slot:
    """An exclusive sandbox slot (file lock, at most ``MAX_SLOTS`` at once) with the sandbox's uid:
    a fresh one when the grader is root (see :mod:`autograder.sandbox.uids`), else the grader's."""

    def __init__(self):
        SLOT_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        for index in range(MAX_SLOTS):
            handle = open(SLOT_DIR / f"slot-{index}.lock", "a")  # noqa: SIM115 - held (locked) while the slot is
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self.index, self._handle = index, handle
            try:
                self.uid = allocate_uid(_has_processes) if is_root() else os.getuid()
            except BaseException:
                handle.close()
                raise
            return
        raise RuntimeError(f"all {MAX_SLOTS} sandbox slots are busy")

    def release(self) -> None:
        """Give the slot back (after reaping its uid)."""
        if self._handle is not None:
            if is_root():
                reap_uid(self.uid)
            self._handle.close()
            self._handle = None


class Sandbox:
    """One sandboxed program: ``start(argv)`` it, then ``close()`` (idempotent) kills it all.

    ``secure=False`` (only with the CLI's explicit ``--insecure-no-sandbox``) runs the program
    directly with rlimits and a clean environment, in a host scratch folder.
    """

    filter_syscalls = True  # load the seccomp filter (False only to measure what it costs)

    def __init__(self, limits: Limits, mounts: list[Mount] = (), secure: bool = True):
        self.limits = limits
        self.mounts = list(mounts)
        self.secure = secure
        self.proc: subprocess.Popen | None = None
        self.slot: Slot | None = None
        self.cgroup: SandboxCgroup | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix="autograder-"))
        self.run_dir = self.workdir / "run"  # kernel sockets; bound at RUN_DIR
        self.run_dir.mkdir(mode=0o700)
        self.log_path = self.workdir / "sandbox.log"
        if secure:
            self.home, self.run_inside = HOME, RUN_DIR
        else:
            scratch = self.workdir / "home"
            scratch.mkdir()
            self.home, self.run_inside = str(scratch), str(self.run_dir)
        self.started_at: float | None = None

    def base_env(self) -> dict[str, str]:
        """The whole environment of the sandboxed program (no variable of the grader leaks in)."""
        venv_bin = str(Path(PYTHON).parent)
        threads = str(self.limits.threads)
        return {
            "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": self.home, "USER": "student", "LOGNAME": "student",
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TMPDIR": "/tmp" if self.secure else self.home,
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "MPLCONFIGDIR": f"{self.home}/.config/matplotlib",
            "IPYTHONDIR": f"{self.home}/.ipython",
            "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }

    def path(self, dest: str) -> str:
        """The path a file at ``dest`` (relative to the working dir) has inside the sandbox."""
        return f"{self.home}/{dest}"

    def start(self, argv: list[str], env: dict[str, str]) -> None:
        """Launch ``argv`` in the sandbox with ``env`` added to :meth:`base_env`."""
        full_env = {**self.base_env(), **env}
        pairs = rlimits(self.limits)
        filter_fd = None
        with open(self.log_path, "wb") as log:
            try:
                self.cgroup = sandbox_cgroup(self.limits)
                if self.secure:
                    self.slot = Slot()
                    if is_root():
                        os.chown(self.run_dir, self.slot.uid, self.slot.uid)
                    etc = self.workdir / "etc"
                    write_etc(etc, self.slot.uid)
                    filter_fd = seccomp.program_fd() if self.filter_syscalls else None
                    command = bwrap_args(self.limits, full_env, self.mounts, self.run_dir, etc, filter_fd)
                    command += drop_args(self.slot.uid) + argv
                    popen_env, cwd = {"PATH": "/usr/bin:/bin"}, "/"
                else:
                    for mount in self.mounts:
                        target = Path(self.home) / mount.dest
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.symlink_to(Path(mount.host).resolve())
                    command, popen_env, cwd = argv, full_env, self.home
                self.started_at = time.monotonic()
                self.proc = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env=popen_env, cwd=cwd, start_new_session=True, close_fds=True,
                    pass_fds=() if filter_fd is None else (filter_fd,), preexec_fn=_preexec(pairs, self.cgroup),
                )
            except BaseException:
                self.close()
                raise
            finally:
                if filter_fd is not None:
                    os.close(filter_fd)

    def lock_run_dir(self) -> None:
        """After the kernel bound its sockets: the sandbox may no longer write the host folder."""
        if self.secure and is_root():
            os.chown(self.run_dir, 0, 0)
            os.chmod(self.run_dir, 0o700)

    def alive(self) -> bool:
        """True while the sandboxed program runs."""
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self) -> float | None:
        """CPU time used by all processes of the sandbox so far; None without a cgroup."""
        if self.cgroup is None:
            return None
        try:
            return self.cgroup.cpu_seconds()
        except OSError:
            return None

    def close_cgroup(self) -> None:
        """Kill whatever is left in the sandbox's cgroup and remove it."""
        if self.cgroup is not None:
            self.cgroup.close()
            self.cgroup = None

    def log_tail(self, limit: int = 2000) -> str:
        """The last bytes the sandboxed program wrote to its own stdout/stderr (diagnostics)."""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(max(0, self.log_path.stat().st_size - limit))
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self) -> None:
        """Kill every process of the sandbox, delete its files, free its slot."""
        if self.proc is not None:
            kill_group(self.proc)
        if not self.secure and self.proc is not None:
            _kill_session(self.proc.pid)
        self.close_cgroup()
        if self.slot is not None:
            self.slot.release()
            self.slot = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _kill_session(sid: int) -> None:
    """Unsandboxed mode: kill what is left of the program's session (best effort)."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    os.kill(int(entry.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
