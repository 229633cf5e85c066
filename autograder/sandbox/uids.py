"""Fresh uids for sandboxes: each sandbox of this machine gets a uid no earlier sandbox had.

Per-uid kernel state (keyrings, RLIMIT_NPROC and signal/mqueue quotas, anything the kernel
keys by uid) therefore never passes from one student to the next. The uids come from
``[FIRST_UID, FIRST_UID + UID_COUNT)``, far from ordinary users, subordinate-uid ranges and the
61000+ range of earlier versions; a counter in a root-only folder (``UID_DIR``, persistent
across reboots), read and advanced under an exclusive file lock, hands them out across every
grader process of the machine, and wraps only after ``UID_COUNT`` sandboxes. A uid that still
has processes when its turn comes again (a sandbox running since the last wrap) is skipped.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

FIRST_UID = 1_000_000_000
UID_COUNT = 1_000_000_000  # wraps after a billion sandboxes; the last uid stays below 2**31
UID_DIR = Path(os.environ.get("AUTOGRADER_UID_DIR", "/var/lib/autograder/uids"))
PROBE_UID = FIRST_UID - 1  # only ever runs the sandbox probe's fixed program


def is_root() -> bool:
    """True when the grader runs as root (and must drop privileges for student code)."""
    return os.geteuid() == 0


def _private_dir() -> Path:
    """``UID_DIR``, created 0700; refuse a folder that anyone but root could write."""
    UID_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(UID_DIR)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o077:
        raise RuntimeError(f"{UID_DIR} must be a folder owned by root with mode 0700 (it hands out sandbox uids)")
    return UID_DIR


def _next_counter(handle) -> int:
    handle.seek(0)
    try:
        value = int(handle.read().strip() or 0)
    except ValueError:
        value = 0  # a damaged counter restarts the cycle; uids still in use are skipped
    handle.seek(0)
    handle.truncate()
    handle.write(str((value + 1) % UID_COUNT))
    handle.flush()  # no fsync: what a uid carries in the kernel does not survive a crash of the machine either
    return value % UID_COUNT


def allocate_uid(in_use) -> int:
    """A uid no sandbox had since the counter last wrapped; ``in_use(uid)`` tells a busy one."""
    path = _private_dir() / "next"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "r+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        for _ in range(1000):
            uid = FIRST_UID + _next_counter(handle)
            if not in_use(uid):
                return uid
    raise RuntimeError("no free sandbox uid: a thousand uids in a row are still in use")
