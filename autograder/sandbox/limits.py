"""Resource limits of one sandboxed notebook run."""

from __future__ import annotations

from dataclasses import dataclass, replace

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Every limit a sandbox enforces; the defaults suit the MLP assignments.

    Times are seconds, sizes bytes. ``memory`` is RLIMIT_AS per process; the whole sandbox (all
    its processes together) is bounded by its cgroup: ``sandbox_memory``, ``sandbox_pids`` and at
    most ``cpus`` cores (:mod:`autograder.sandbox.cgroup`). With a cgroup, the cell, notebook,
    call and check timeouts are budgets of the sandbox's own CPU time, so a loaded machine does
    not make a student's code time out; ``wall_grace`` times each budget is the wall-time
    backstop (code that sleeps or blocks uses no CPU). Without one they are wall times.
    """

    cell_timeout: float = 120.0  # wall time of one cell
    notebook_timeout: float = 600.0  # wall time of all cells together
    call_timeout: float = 20.0  # wall time of one proxy call from a check
    check_timeout: float = 120.0  # wall time of all proxy calls of one check
    startup_timeout: float = 60.0  # kernel start until it answers kernel_info
    cpu_seconds: int = 900  # RLIMIT_CPU, per process
    memory: int = 3 * 1024 * MIB  # RLIMIT_AS, per process
    file_size: int = 64 * MIB  # RLIMIT_FSIZE: largest file a process may write
    nproc: int = 64  # RLIMIT_NPROC: processes and threads of the sandbox user
    nofile: int = 512  # RLIMIT_NOFILE
    sandbox_memory: int = 4 * 1024 * MIB  # memory of the whole sandbox (cgroup; no swap)
    sandbox_pids: int = 256  # processes and threads of the whole sandbox (cgroup pids.max)
    cpus: float = 1.0  # cores the whole sandbox may use at most (cgroup CFS quota; 0: no quota)
    wall_grace: float = 10.0  # wall-time backstop of a CPU-time budget, as a multiple of it
    threads: int = 1  # OMP/MKL threads: parallel grading should not oversubscribe the cores
    scratch_size: int = 512 * MIB  # size of the tmpfs working directory
    tmp_size: int = 64 * MIB  # size of the tmpfs /tmp and /dev/shm
    output_bytes: int = 2 * MIB  # notebook outputs kept per notebook (rest dropped)
    message_bytes: int = 16 * MIB  # largest Jupyter message accepted from the kernel (ZMQ_MAXMSGSIZE)
    reply_bytes: int = 8 * MIB  # largest proxy reply accepted (arrays and bytes, before base64)
    collect_bytes: int = 8 * MIB  # largest file collected out of the sandbox

    def with_(self, **changes) -> Limits:
        """Return a copy with some limits changed."""
        return replace(self, **changes)
