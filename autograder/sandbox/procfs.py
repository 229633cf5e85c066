"""Reading a process's state from /proc (the grader's view of its sandboxes' processes)."""

from __future__ import annotations


def stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (index 0 = state, 1 = parent PID,
    19 = start time), or None when the process does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def is_running(pid: int) -> bool:
    """True while process ``pid`` exists and is not yet a zombie."""
    fields = stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")
