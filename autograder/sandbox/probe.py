"""Find out which isolation mechanisms this machine provides, and refuse loudly without them.

The sandbox needs bubblewrap (mount, network, PID, IPC and UTS namespaces), and, when the
grader runs as root, ``setpriv`` to drop to a dedicated unprivileged uid inside, and
libseccomp (``pyseccomp`` over the system's libseccomp2) to compile the sandbox's syscall
filter. Rlimits are always available on Linux. :func:`missing_protections` runs one tiny real sandbox to check.
Per-sandbox cgroups are used when the machine has them (else a warning, see
:mod:`autograder.sandbox.cgroup`); with ``AUTOGRADER_CGROUPS=require`` their absence is missing too.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys

from autograder.errors import UserError
from autograder.sandbox import cgroup
from autograder.sandbox.bwrap import probe_command
from autograder.sandbox.seccomp import bpf_program


class SandboxUnavailable(UserError):
    """The machine cannot provide a protection the sandbox needs."""


@functools.lru_cache(maxsize=1)
def missing_protections() -> tuple[str, ...]:
    """Return a description of every protection this machine cannot give (empty when all work)."""
    if not sys.platform.startswith("linux"):
        return (f"the sandbox needs Linux namespaces (this is {sys.platform})",)
    missing = []
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        missing.append("bubblewrap (`bwrap`) is not installed: no mount/network/PID isolation "
                       "(install the Debian package `bubblewrap`, e.g. `make system-packages`)")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        missing.append("`setpriv` (util-linux) is missing: cannot drop root to an unprivileged uid")
    try:
        bpf_program()
    except (ImportError, OSError, RuntimeError) as exc:
        missing.append(f"no seccomp filter ({type(exc).__name__}: {exc}): install the Python package "
                       "`pyseccomp` and the Debian package `libseccomp2`")
    if not missing:
        try:
            result = subprocess.run(probe_command(), capture_output=True, timeout=30, text=True)
        except (OSError, subprocess.TimeoutExpired) as exc:
            missing.append(f"a test sandbox could not start ({exc})")
        else:
            if result.returncode != 0 or result.stdout.strip() != "isolated":
                detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
                missing.append(f"a test sandbox did not come up isolated ({detail})")
    if cgroup.MODE == "require":
        try:
            cgroup.detect()
        except cgroup.CgroupUnavailable as exc:
            missing.append(f"per-sandbox cgroups (AUTOGRADER_CGROUPS=require): {exc}")
    return tuple(missing)


def require_sandbox(insecure: bool = False) -> bool:
    """Return True when notebooks run sandboxed; raise :class:`SandboxUnavailable` otherwise.

    ``insecure`` (the CLI's ``--insecure-no-sandbox``) turns the sandbox off explicitly: a loud
    warning goes to stderr and False comes back, the caller then runs notebooks with rlimits and
    a clean environment only. Without it, any missing mechanism is an error naming it.
    """
    if insecure:
        missing = missing_protections()
        reason = ("; also missing here: " + "; ".join(missing)) if missing else ""
        print("WARNING: --insecure-no-sandbox: student code runs with YOUR permissions, "
              "network and files (only rlimits and a clean environment apply)" + reason,
              file=sys.stderr)
        return False
    missing = missing_protections()
    if missing:
        raise SandboxUnavailable(
            "cannot sandbox student code: " + "; ".join(missing)
            + ". Pass --insecure-no-sandbox only if you trust every submission."
        )
    return True
