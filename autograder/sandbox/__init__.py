"""The sandbox: untrusted notebooks run in bubblewrap namespaces as an unprivileged uid, with
rlimits, a cgroup of their own (memory, processes, CPU for the whole sandbox; time limits on
its CPU time), a tmpfs scratch dir and no network; ipykernel is reached over unix sockets.

Public API: :func:`run_notebook` (run a notebook once, collect files), :class:`SandboxKernel`
(a live sandboxed kernel), :func:`execute_notebook`, :class:`Limits`, :func:`require_sandbox`.
"""

from autograder.sandbox.execute import ExecutionReport, execute_notebook
from autograder.sandbox.kernel import KernelDied, SandboxKernel
from autograder.sandbox.launcher import Mount
from autograder.sandbox.limits import Limits
from autograder.sandbox.probe import SandboxUnavailable, missing_protections, require_sandbox
from autograder.sandbox.run import RunResult, run_notebook

__all__ = [
    "ExecutionReport", "KernelDied", "Limits", "Mount", "RunResult", "SandboxKernel",
    "SandboxUnavailable", "execute_notebook", "missing_protections", "require_sandbox", "run_notebook",
]
