"""The sandbox: untrusted notebooks run in bubblewrap namespaces as an unprivileged uid, with
rlimits, a cgroup of their own (memory, processes, CPU for the whole sandbox; time limits on
its CPU time), a tmpfs scratch dir and no network; ipykernel is reached over unix sockets.

Public API: :class:`SandboxKernel` (a live sandboxed kernel), :func:`execute_notebook`,
:class:`Limits`, :class:`Mount`, :func:`require_sandbox`; pre-warmed kernels come from
:func:`autograder.sandbox.zygote.kernel_factory`.
"""

from autograder.sandbox.bwrap import Mount
from autograder.sandbox.execute import ExecutionReport, execute_notebook
from autograder.sandbox.kernel import KernelDied, SandboxKernel
from autograder.sandbox.limits import Limits
from autograder.sandbox.probe import SandboxUnavailable, missing_protections, require_sandbox

__all__ = [
    "ExecutionReport", "KernelDied", "Limits", "Mount", "SandboxKernel",
    "SandboxUnavailable", "execute_notebook", "missing_protections", "require_sandbox",
]
