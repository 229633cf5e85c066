"""Time limits judged on the sandbox's own CPU time, so that a loaded machine costs no student a grade.

A cell, the notebook, a proxy call or a check gets ``seconds`` of the CPU time its sandbox's
cgroup counts (all its processes together). A busy neighbour only slows the wall clock, never
the CPU time a correct notebook needs, so its limits hold on any load. Code that sleeps or
blocks uses no CPU: ``Limits.wall_grace`` times ``seconds`` of wall time is the backstop. With
no cgroup (cgroups unavailable) a budget is plain wall time, as before.
"""

from __future__ import annotations

import os
import time


class Budget:
    """``seconds`` of the sandbox's CPU time (or wall time without a cgroup), from now on."""

    def __init__(self, seconds: float, cpu_clock=None, grace: float = 10.0, cpus: float = 1.0):
        self.seconds = seconds
        self._clock = cpu_clock
        self.start = time.monotonic()
        self.cpu_start = cpu_clock() if cpu_clock is not None else None
        self.on_cpu = self.cpu_start is not None
        self.wall_limit = seconds * max(1.0, grace) if self.on_cpu else seconds
        # the sandbox cannot use more than this many cores: before wall * cores reaches the
        # budget there is no need to read the CPU clock
        self._cores = cpus if cpus > 0 else float(os.cpu_count() or 1)

    def expired(self, now: float | None = None) -> bool:
        """True once the sandbox used up the budget (or its wall-time backstop passed)."""
        wall = (time.monotonic() if now is None else now) - self.start
        if wall >= self.wall_limit:
            return True
        if not self.on_cpu or wall * self._cores < self.seconds:
            return False
        used = self._clock()
        if used is None:  # the cgroup is gone (the sandbox was closed): wall time decides
            return wall >= self.seconds
        return used - self.cpu_start >= self.seconds

    def describe(self) -> str:
        """The limit in words, for messages."""
        return f"{self.seconds:g} s of CPU time" if self.on_cpu else f"{self.seconds:g} s"


def wall(seconds: float) -> Budget:
    """A plain wall-time budget (for the grader's own waits, e.g. after an interrupt)."""
    return Budget(seconds)
