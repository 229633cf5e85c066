"""One cgroup per sandbox: memory, process and CPU limits for all of its processes together,
its CPU time, and a kill that reaches every process in it.

Per-process rlimits do not bound a student: five children of 2 GiB each hold 10 GiB, and fifty
busy loops take every core. A :class:`SandboxCgroup` puts a sandbox's whole process tree under

* ``Limits.sandbox_memory`` bytes of memory (v1 ``memory.limit_in_bytes`` plus the same value
  for memory+swap, v2 ``memory.max`` with ``memory.swap.max`` 0: nothing spills to swap),
* ``Limits.sandbox_pids`` processes and threads (``pids.max``),
* ``Limits.cpus`` cores at most (CFS quota: v1 ``cpu.cfs_quota_us``, v2 ``cpu.max``),

counts its CPU time (v1 ``cpuacct.usage``, v2 ``cpu.stat`` ``usage_usec``) and, on close,
kills everything in it (v2 ``cgroup.kill``; v1 freeze, SIGKILL, thaw) and removes it.

Only our own subtree is created: ``<controller folder>/autograder/<pid>-<start>-<random>``,
named after the grader process that owns it, so that :func:`sweep_stale` can remove the ones
whose owner died (kill -9) without ever touching a cgroup some other program made.

When cgroups cannot be used (not root and nothing delegated, a controller missing, v2 without
delegation) :func:`sandbox_cgroup` returns None after one warning line on stderr and the sandbox
keeps its per-process rlimits and wall-time limits; with ``AUTOGRADER_CGROUPS=require`` it
raises instead (for a grading server, where one student must never slow another one down).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox.procfs import stat_fields

ROOT = Path("/sys/fs/cgroup")
SUBTREE = "autograder"
V1_REQUIRED = ("memory", "pids", "cpu", "cpuacct")
V2_REQUIRED = ("memory", "pids", "cpu")
NAME = re.compile(r"^(\d+)-(\d+)-[0-9a-f]{8}$")
MODE = os.environ.get("AUTOGRADER_CGROUPS", "auto")  # auto | require | off


class CgroupUnavailable(RuntimeError):
    """This machine (or this user) cannot give sandboxes their own cgroups; the reason says why."""


@dataclass(frozen=True)
class Hierarchy:
    """Where our subtree lives: ``folders`` maps each controller to the folder holding
    ``autograder/`` (v1: one mount per controller, co-mounted ones share it; v2: one folder)."""

    version: int
    folders: dict

    def bases(self) -> list[Path]:
        """The distinct ``autograder`` folders, memory's first (so a new process is charged at once)."""
        seen: list[Path] = []
        for name in ("memory", *sorted(self.folders)):
            base = self.folders[name] / SUBTREE if name in self.folders else None
            if base is not None and base not in seen:
                seen.append(base)
        return seen


def _v1_folder(root: Path, controller: str) -> Path | None:
    """The v1 mount of ``controller``: ``root/<controller>`` or a co-mount such as ``cpu,cpuacct``."""
    exact = root / controller
    if (exact / "cgroup.procs").is_file():
        return Path(os.path.realpath(exact))
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if controller in entry.name.split(",") and (entry / "cgroup.procs").is_file():
            return Path(os.path.realpath(entry))
    return None


def detect(root: Path | None = None) -> Hierarchy:
    """The cgroup hierarchy at ``root`` (default :data:`ROOT`) we may build sandboxes in; raise
    CgroupUnavailable otherwise."""
    root = ROOT if root is None else root
    if (root / "cgroup.controllers").is_file():
        available = (root / "cgroup.controllers").read_text().split()
        missing = [c for c in V2_REQUIRED if c not in available]
        if missing:
            raise CgroupUnavailable(f"cgroup v2 at {root} lacks the {', '.join(missing)} controller(s)")
        if not os.access(root, os.W_OK) or not os.access(root / "cgroup.subtree_control", os.W_OK):
            raise CgroupUnavailable(f"cgroup v2 at {root} is not writable (not root, and no cgroup delegated)")
        return Hierarchy(2, {name: root for name in V2_REQUIRED})
    folders = {}
    for controller in (*V1_REQUIRED, "freezer"):
        folder = _v1_folder(root, controller)
        if folder is not None:
            folders[controller] = folder
    missing = [c for c in V1_REQUIRED if c not in folders]
    if missing:
        raise CgroupUnavailable(f"no cgroup v2 at {root} and no v1 {', '.join(missing)} controller(s)")
    unwritable = sorted({str(f) for f in folders.values() if not os.access(f, os.W_OK)})
    if unwritable:
        raise CgroupUnavailable(f"cgroup v1 folders not writable (not root?): {', '.join(unwritable)}")
    return Hierarchy(1, folders)


def _write(path: Path, value) -> None:
    with open(path, "w") as handle:
        handle.write(str(value))


def _start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), None when it does not exist."""
    fields = stat_fields(pid)
    return int(fields[19]) if fields else None


def _running(pid: int, start: int | None) -> bool:
    """True while process ``pid`` (that started at ``start``) exists and is not yet a zombie."""
    fields = stat_fields(pid)
    return bool(fields) and fields[0] not in ("Z", "X") and int(fields[19]) == start


def _prepare_base(hierarchy: Hierarchy) -> None:
    """Create ``autograder/`` under every controller (v2: with the controllers enabled below it).

    At the top of the CPU hierarchy all our sandboxes together weigh as much as one busy process
    per core (by default a group weighs as one process): grading keeps its share on a loaded
    machine, and the grader's own processes (the checks, the coordinator) keep theirs."""
    cores = len(os.sched_getaffinity(0))
    for base in hierarchy.bases():
        if hierarchy.version == 2:
            enable = " ".join(f"+{c}" for c in V2_REQUIRED)
            try:
                _write(base.parent / "cgroup.subtree_control", enable)
                base.mkdir(exist_ok=True)
                _write(base / "cgroup.subtree_control", enable)
            except OSError as exc:
                raise CgroupUnavailable(f"cgroup v2 controllers cannot be enabled below {base.parent} "
                                        f"({exc.strerror}: no delegation)") from None
        else:
            base.mkdir(exist_ok=True)
    cpu_base = hierarchy.folders["cpu"] / SUBTREE
    if hierarchy.version == 2:
        _write(cpu_base / "cpu.weight", min(10_000, 100 * cores))
    else:
        _write(cpu_base / "cpu.shares", 1024 * cores)


class SandboxCgroup:
    """The cgroup of one sandbox (see the module docstring); ``close()`` kills and removes it."""

    def __init__(self, hierarchy: Hierarchy, memory: int, pids: int, cpus: float):
        self.hierarchy = hierarchy
        self.name = f"{os.getpid()}-{_start_time(os.getpid()) or 0}-{secrets.token_hex(4)}"
        self.folders = [base / self.name for base in hierarchy.bases()]
        try:
            for folder in self.folders:
                folder.mkdir()
            self._set_limits(memory, pids, cpus)
        except BaseException:
            self.close()
            raise

    def _folder(self, controller: str) -> Path:
        return self.hierarchy.folders[controller] / SUBTREE / self.name

    def _set_limits(self, memory: int, pids: int, cpus: float) -> None:
        mem, pid_folder, cpu = self._folder("memory"), self._folder("pids"), self._folder("cpu")
        _write(pid_folder / "pids.max", pids)
        if self.hierarchy.version == 2:
            _write(mem / "memory.max", memory)
            if (mem / "memory.swap.max").exists():
                _write(mem / "memory.swap.max", 0)
            if cpus > 0:
                _write(cpu / "cpu.max", f"{int(cpus * 100_000)} 100000")
            return
        _write(mem / "memory.limit_in_bytes", memory)
        if (mem / "memory.memsw.limit_in_bytes").exists():  # swap accounting on: memory+swap = memory
            _write(mem / "memory.memsw.limit_in_bytes", memory)
        else:
            _write(mem / "memory.swappiness", 0)
        if cpus > 0:
            period = int((cpu / "cpu.cfs_period_us").read_text())
            _write(cpu / "cpu.cfs_quota_us", max(1000, int(cpus * period)))

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process is written to to join (memory's first)."""
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def attach(self, pid: int) -> None:
        """Move process ``pid`` (all its threads) into this cgroup; its future children follow."""
        for path in self.procs_files():
            _write(Path(path), pid)

    def preexec(self):
        """A function for ``Popen(preexec_fn=...)`` that puts the child in this cgroup before it execs."""
        paths = self.procs_files()

        def join() -> None:
            data = str(os.getpid()).encode()
            for path in paths:
                fd = os.open(path, os.O_WRONLY)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)

        return join

    def cpu_seconds(self) -> float:
        """CPU time used by every process of the sandbox so far (user + system)."""
        if self.hierarchy.version == 2:
            for line in (self._folder("cpu") / "cpu.stat").read_text().splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
            return 0.0
        return int((self._folder("cpuacct") / "cpuacct.usage").read_text()) / 1e9

    def memory_peak(self) -> int | None:
        """The most memory the sandbox held at once (bytes), when the kernel reports it."""
        folder = self._folder("memory")
        name = "memory.peak" if self.hierarchy.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((folder / name).read_text())
        except (OSError, ValueError):
            return None

    def pids(self) -> set[int]:
        """Host PIDs of every process in the cgroup."""
        return _members(self.folders)

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL every process in the cgroup, until none is left."""
        _kill_all(self.hierarchy, self.folders, timeout)

    def close(self) -> None:
        """Kill every process in the cgroup and remove it (idempotent)."""
        if not self.folders:
            return
        try:
            self.kill()
        finally:
            _remove(self.folders)
            self.folders = []


def _freeze(hierarchy: Hierarchy, folders: list[Path], frozen: bool) -> None:
    if hierarchy.version == 2:
        target, value = folders[0] / "cgroup.freeze", "1" if frozen else "0"
    elif "freezer" in hierarchy.folders:
        target = next((f for f in folders if f.parent.parent == hierarchy.folders["freezer"]), None)
        if target is None:
            return
        target, value = target / "freezer.state", "FROZEN" if frozen else "THAWED"
    else:
        return
    with contextlib.suppress(OSError):
        _write(target, value)


def _members(folders: list[Path]) -> set[int]:
    """Host PIDs of the processes in any of ``folders`` (one cgroup under each controller)."""
    found: set[int] = set()
    for folder in folders:
        try:
            found.update(int(x) for x in (folder / "cgroup.procs").read_text().split())
        except (OSError, ValueError):
            continue
    return found


def _kill_all(hierarchy: Hierarchy, folders: list[Path], timeout: float) -> None:
    """v2: ``cgroup.kill``; else freeze (no new forks), SIGKILL every member, thaw; until empty."""
    kill_file = folders[0] / "cgroup.kill" if folders else None
    use_kill_file = kill_file is not None and kill_file.exists()
    deadline = time.monotonic() + timeout
    killed: dict[int, int | None] = {}
    while True:
        if not use_kill_file:
            _freeze(hierarchy, folders, True)
        pids = _members(folders)
        if not pids:
            if not use_kill_file:
                _freeze(hierarchy, folders, False)
            # a killed process leaves the cgroup a moment before it has finished exiting
            while any(_running(pid, start) for pid, start in killed.items()) and time.monotonic() < deadline:
                time.sleep(0.005)
            return
        killed.update((pid, _start_time(pid)) for pid in pids if pid not in killed)
        if use_kill_file:
            _write(kill_file, 1)
        else:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            _freeze(hierarchy, folders, False)
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of a sandbox cgroup survive SIGKILL: {sorted(pids)}")
        time.sleep(0.01)


def _remove(folders: list[Path], timeout: float = 5.0) -> None:
    """rmdir each folder; a cgroup whose last process just died may stay busy for a moment."""
    deadline = time.monotonic() + timeout
    for folder in folders:
        while True:
            try:
                folder.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)


def sweep_stale(hierarchy: Hierarchy) -> list[str]:
    """Kill and remove our cgroups whose owner process is gone; return their names.

    Only folders named by :class:`SandboxCgroup` (``<pid>-<start time>-<8 hex>``) under our
    ``autograder/`` subtree are considered, and only when that exact process no longer exists.
    """
    stale: dict[str, list[Path]] = {}
    for base in hierarchy.bases():
        for entry in base.iterdir() if base.is_dir() else []:
            match = NAME.match(entry.name)
            if match and entry.is_dir() and _start_time(int(match[1])) != int(match[2]):
                stale.setdefault(entry.name, []).append(entry)
    for folders in stale.values():
        ordered = sorted(folders, key=lambda f: hierarchy.bases().index(f.parent))
        try:
            _kill_all(hierarchy, ordered, 5.0)
            _remove(ordered)
        except (OSError, RuntimeError):
            continue
    return sorted(stale)


@functools.lru_cache(maxsize=1)
def _hierarchy() -> Hierarchy:
    """This machine's hierarchy, prepared and swept once per process."""
    hierarchy = detect()
    _prepare_base(hierarchy)
    sweep_stale(hierarchy)
    return hierarchy


@functools.lru_cache(maxsize=1)
def _warn_once(reason: str) -> None:
    print(f"warning: no cgroups for sandboxes ({reason}); falling back to per-process rlimits and "
          "wall-time limits, so one student can slow down the others graded beside it "
          "(AUTOGRADER_CGROUPS=require makes this an error)", file=sys.stderr)


def sandbox_cgroup(limits, mode: str | None = None) -> SandboxCgroup | None:
    """A new cgroup holding ``limits`` (sandbox_memory, sandbox_pids, cpus), or None when cgroups
    are unavailable or off (``mode``/``AUTOGRADER_CGROUPS``: auto | require | off)."""
    mode = mode or MODE
    if mode == "off":
        return None
    try:
        hierarchy = _hierarchy()
    except CgroupUnavailable as exc:
        if mode == "require":
            raise
        _warn_once(str(exc))
        return None
    return SandboxCgroup(hierarchy, limits.sandbox_memory, limits.sandbox_pids, limits.cpus)
