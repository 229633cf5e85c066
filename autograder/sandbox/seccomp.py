"""The one seccomp filter of every sandbox (plain bubblewrap sandboxes and zygote kernels alike).

Default allow; denied is what a notebook never needs and what would let one student reach
another (a successive one in the same worker, or a concurrent one on this host) or the kernel's
attack surface. :func:`bpf_program` compiles it once, on the trusted side, with libseccomp
(``pyseccomp``); bubblewrap loads it with ``--seccomp FD`` (:func:`program_fd`), the zygote's
children with ``prctl(PR_SET_SECCOMP)`` after their namespaces, mounts and uid are set up.
Syscalls of other ABIs (i386 ``int 0x80``, x32) kill the process (libseccomp's bad-arch action).

Kernel objects a student could use as a channel to another student, and how each is closed
(``ns`` = namespaced away, ``seccomp`` = denied here, ``uid`` = each sandbox has a uid never
reused, see :mod:`autograder.sandbox.uids`):

- keyrings - user and user-session (per uid), persistent (per uid, outlives every process),
  session (inherited from the grader: a possessor may write it whatever its uid):
  ``add_key``/``request_key``/``keyctl`` denied (seccomp), and uid.
- SysV shared memory, message queues, semaphores; POSIX message queues: IPC ns per sandbox.
- abstract unix sockets, loopback ports, netlink routes: network ns per sandbox (no interface).
- pathname sockets, FIFOs, files: nothing writable is shared. ``/tmp``, ``/dev/shm`` and HOME
  are fresh tmpfs per sandbox; everything from the host is bound read-only (no atime updates);
  the kernel's socket folder is the sandbox's own and root-owned after start, deleted at close.
- pseudo-terminals: a fresh devpts instance per sandbox (bwrap ``--dev``; zygote children mount
  their own), so the set of open ptys is not shared either.
- signals, ``kill(-1)``, ``/proc/<pid>`` (mem, environ, fds): PID ns per sandbox (nobody else is
  visible), a different uid, not dumpable; ``ptrace``, ``process_vm_readv/writev``, ``kcmp``,
  ``pidfd_getfd``, ``process_madvise`` denied (seccomp).
- user namespaces (regaining capabilities), other namespaces: ``unshare``, ``setns``, ``clone``
  with any CLONE_NEW* flag denied; ``clone3`` (flags out of reach of a filter) fails with
  ENOSYS, so glibc falls back to ``clone``. Cgroup ns per plain sandbox (zygote children share
  the zygote's); /sys and cgroupfs are not mounted, so no cgroup is visible or writable.
- file notifications and locks on the shared read-only files (``inotify``/``fanotify``,
  ``fcntl(F_NOTIFY)``, ``flock`` and ``fcntl`` record locks): inode objects seen by every
  sandbox that binds the same file - denied (seccomp). Locks fail with ENOLCK ("no locks
  available"); sqlite3 then reports "database is locked" for a database file (``:memory:`` and
  ``?nolock=1`` URIs work), a price paid for a channel that needs no privilege at all.
- page-cache state of shared files: the exact probes (``cachestat``, ``preadv2(RWF_NOWAIT)``,
  io_uring) denied; ``mincore`` reports only the caller's own mappings for files it cannot write.
- memory deduplication (KSM: a write to a page merged with another sandbox's is slower): the
  opt-ins ``prctl(PR_SET_MEMORY_MERGE)`` and ``madvise(MADV_MERGEABLE)`` denied (KSM is off here).
- mounts: ``mount``, ``umount2``, ``pivot_root``, ``chroot``, the new mount API denied.
- hostname/domain name: UTS ns, ``sethostname``/``setdomainname`` denied. Time: the clocks are
  global, so setting them (``settimeofday``, ``clock_settime``, ``clock_adjtime``, ``adjtimex``)
  is denied. Kernel log: ``syslog`` denied, no /dev/kmsg.
- per-uid counts and quotas (RLIMIT_NPROC, pending signals, mqueue bytes, inotify instances,
  key quota): uid, so they count one sandbox only and start at zero.
- memfd, pipes, eventfds: per process; no socket reaches another sandbox to pass them.
- host-wide kernel state: ``bpf``, ``perf_event_open``, ``userfaultfd``, ``io_uring_*``,
  ``kexec_*``, module loading, ``swapon/off``, ``reboot``, ``acct``, ``quotactl``,
  ``open_by_handle_at``/``name_to_handle_at``, ``lookup_dcookie``, ``vhangup``,
  ``ioperm``/``iopl``, ``personality`` other than the default denied.

Not closed: timing channels between concurrent sandboxes (CPU and memory-bus contention; the
page cache of shared read-only files, observable through read latency or through fault-around
plus ``mincore``): low bandwidth, not namespaced by Linux; cgroups bound the first, and closing
the page-cache one would take per-sandbox copies of every shared file.
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile

# CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET
CLONE_NEW_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
RWF_NOWAIT = 0x08
# fcntl commands: F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW; F_NOTIFY (dnotify)
LOCK_COMMANDS = (5, 6, 7, 36, 37, 38)
F_NOTIFY = 1026
PR_SET_MEMORY_MERGE, MADV_MERGEABLE = 67, 12  # opt-ins to KSM (page deduplication across processes)
# syscalls newer than some libseccomp releases know by name (same number on every Linux arch since 5.1)
NUMBERS = {"open_tree_attr": 467}

DENIED = {
    # channels to other students through per-uid or host-wide kernel objects
    "keyrings": ("add_key", "request_key", "keyctl"),
    "other processes": ("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
                        "process_madvise"),
    "namespaces": ("unshare", "setns"),
    "notifications": ("inotify_init", "inotify_init1", "fanotify_init", "fanotify_mark"),
    "page cache probes": ("cachestat",),
    # the mount table (nothing to mount; each would only widen the kernel's attack surface)
    "mounts": ("mount", "umount2", "pivot_root", "chroot", "fsopen", "fsmount", "fsconfig", "move_mount",
               "open_tree", "open_tree_attr", "fspick", "mount_setattr"),
    # host-wide state and kernel attack surface a notebook never needs
    "kernel": ("bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
               "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "swapon", "swapoff",
               "reboot", "acct", "quotactl", "quotactl_fd", "syslog", "open_by_handle_at", "name_to_handle_at",
               "lookup_dcookie", "vhangup", "ioperm", "iopl"),
    "host identity and clocks": ("sethostname", "setdomainname", "settimeofday", "clock_settime", "clock_adjtime",
                                 "adjtimex"),
}


def _syscall(seccomp, name: str):
    """The name libseccomp knows, else the syscall's number on this arch (None: not on this arch)."""
    if seccomp.resolve_syscall(seccomp.system_arch(), name) >= 0:
        return name
    return NUMBERS.get(name)


def _low32_is(seccomp, index: int, value: int):
    """Argument ``index`` is ``value`` in its low 32 bits (the kernel ignores the rest of an int)."""
    return seccomp.Arg(index, seccomp.MASKED_EQ, 0xFFFFFFFF, value)


def build_filter():
    """The sandbox's filter as a libseccomp ``SyscallFilter`` (see the module docstring)."""
    # Deferred: pyseccomp loads the system's libseccomp, which a machine may lack; the probe
    # then reports it instead of every import of the sandbox failing.
    import pyseccomp as seccomp  # noqa: PLC0415 - deferred, see the comment above

    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    rules.set_attr(seccomp.Attr.CTL_OPTIMIZE, 2)  # a binary tree: few comparisons for every allowed call
    eperm, enolck = seccomp.ERRNO(errno.EPERM), seccomp.ERRNO(errno.ENOLCK)
    for names in DENIED.values():
        for name in names:
            syscall = _syscall(seccomp, name)
            if syscall is not None:
                rules.add_rule(eperm, syscall)
    for flag in CLONE_NEW_FLAGS:
        rules.add_rule(eperm, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    rules.add_rule(eperm, "personality", seccomp.Arg(0, seccomp.NE, 0))
    rules.add_rule(eperm, "preadv2", seccomp.Arg(5, seccomp.MASKED_EQ, RWF_NOWAIT, RWF_NOWAIT))
    rules.add_rule(enolck, "flock")
    for command in LOCK_COMMANDS:
        rules.add_rule(enolck, "fcntl", _low32_is(seccomp, 1, command))
    rules.add_rule(eperm, "fcntl", _low32_is(seccomp, 1, F_NOTIFY))
    rules.add_rule(eperm, "prctl", _low32_is(seccomp, 0, PR_SET_MEMORY_MERGE))
    rules.add_rule(eperm, "madvise", _low32_is(seccomp, 2, MADV_MERGEABLE))
    return rules


@functools.lru_cache(maxsize=1)
def bpf_program() -> bytes:
    """The compiled filter (classic BPF, native byte order), built once per process."""
    with tempfile.TemporaryFile() as sink:
        build_filter().export_bpf(sink)
        sink.seek(0)
        program = sink.read()
    if not program or len(program) % 8:
        raise RuntimeError(f"libseccomp exported a malformed filter ({len(program)} bytes)")
    return program


def program_fd() -> int:
    """A pipe's read end holding :func:`bpf_program` (for ``bwrap --seccomp FD``; caller closes it)."""
    program = bpf_program()
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, program)  # a few KiB: fits the pipe's buffer
    finally:
        os.close(write_end)
    return read_end
