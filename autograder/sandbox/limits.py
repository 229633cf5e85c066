"""Resource limits of one sandboxed notebook run."""

from __future__ import annotations

from dataclasses import dataclass, replace

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Every limit a sandbox enforces; the defaults suit the MLP assignments.

    Times are seconds, sizes bytes. ``memory`` is RLIMIT_AS per process; with ``nproc``
    processes per sandbox user the total is bounded by ``nproc * memory``.
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
    threads: int = 1  # OMP/MKL threads: parallel grading should not oversubscribe the cores
    scratch_size: int = 512 * MIB  # size of the tmpfs working directory
    tmp_size: int = 64 * MIB  # size of the tmpfs /tmp and /dev/shm
    output_bytes: int = 2 * MIB  # notebook outputs kept per notebook (rest dropped)
    message_bytes: int = 16 * MIB  # largest Jupyter message accepted from the kernel (ZMQ_MAXMSGSIZE)
    reply_bytes: int = 8 * MIB  # largest proxy reply accepted (arrays and bytes, before base64)
    collect_bytes: int = 8 * MIB  # largest file collected out of the sandbox

    def with_(self, **changes) -> "Limits":
        """Return a copy with some limits changed."""
        return replace(self, **changes)
