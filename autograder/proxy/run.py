"""Run a whole notebook once in a fresh sandbox and collect files it wrote through the student
proxy (e.g. for the leaderboard's reproducibility re-runs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.proxy.client import StudentProxy
from autograder.proxy.errors import ProxyError
from autograder.sandbox.bwrap import Mount
from autograder.sandbox.execute import execute_notebook
from autograder.sandbox.kernel import KernelDied, SandboxKernel
from autograder.sandbox.limits import Limits
from autograder.sandbox.probe import require_sandbox


@dataclass
class RunResult:
    """Outcome of :func:`run_notebook`.

    status: "ok" (every cell ran without error), "error" (ran to the end, some cells raised),
    "timeout" (a time limit stopped it), "died" (the kernel crashed or exited) or "failed"
    (unreadable notebook or the sandbox did not start). ``files`` holds the collected files that
    exist (at most ``Limits.collect_bytes`` each); ``missing`` names the others.
    """

    status: str
    notebook: object | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


def run_notebook(
    notebook_path: Path,
    files: dict[str, Path] | None = None,
    env: dict[str, str] | None = None,
    collect: list[str] | tuple[str, ...] = (),
    limits: Limits | None = None,
    *,
    secure: bool = True,
) -> RunResult:
    """Execute ``notebook_path`` once in a new sandbox and return its outputs and collected files.

    ``files`` maps a path relative to the notebook's working directory to a host file or folder,
    shown read-only there; ``env`` adds environment variables (``{home}`` in a value becomes the
    working directory); ``collect`` lists files (relative to the working directory) to read back
    after the last cell. ``secure=False`` runs unsandboxed, with a loud warning on stderr.
    Raises :class:`~autograder.sandbox.probe.SandboxUnavailable` when the machine cannot
    sandbox and ``secure`` is True.
    """
    require_sandbox(insecure=not secure)
    limits = limits or Limits()
    try:
        nb = nbformat.read(str(notebook_path), as_version=4)
    except Exception as exc:  # unreadable or not a notebook
        return RunResult("failed", error=f"cannot read {notebook_path}: {type(exc).__name__}")
    mounts = [Mount(Path(host), dest) for dest, host in (files or {}).items()]
    try:
        kernel = SandboxKernel(limits, mounts, env=env, secure=secure)
    except KernelDied as exc:
        return RunResult("failed", error=f"the sandbox did not start: {exc}")
    result = RunResult("ok", notebook=nb, timings={"start": kernel.timings["start"]})
    try:
        report = execute_notebook(kernel, nb)
        result.timings["execute"] = report.seconds
        if report.status != "ok":
            result.status, result.error = report.status, report.error
        elif report.cell_errors:
            result.status, result.error = "error", f"{report.cell_errors} cell(s) raised an error"
        if collect and kernel.alive():
            proxy = StudentProxy(kernel)
            try:
                proxy.start()
                for rel in collect:
                    try:
                        result.files[rel] = proxy.read_file(rel)
                    except ProxyError:
                        result.missing.append(rel)
            except ProxyError as exc:
                result.missing = [rel for rel in collect if rel not in result.files]
                result.error = result.error or f"could not collect files: {exc}"
            finally:
                proxy.close()
        else:
            result.missing = list(collect)
    finally:
        kernel.close()
    return result
