"""Grade one submission: run its notebook once in a sandbox, then the hidden checks against it.

:func:`grade_submission` takes the notebook's bytes (not a path, so the same call works in a
worker process or on another machine) and never raises for anything the submission does: an
unreadable file, a crash, a timeout all end as that submission's result. It raises only for
problems of the grader itself (unknown assignment, unreleased assignment, broken checks, points
that disagree between the solution, the release and the checks).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import nbformat

from autograder import paths
from autograder.errors import UserError
from autograder.grading.assignments import AssignmentSpec, get_assignment
from autograder.grading.notebook import NotebookError, read_submission, restore_locked_cells
from autograder.grading.plugin import CheckContext, run_checks
from autograder.grading.points import graded_points
from autograder.grading.reference import load_reference
from autograder.grading.results import Graded, SubmissionResult
from autograder.proxy.client import StudentProxy
from autograder.proxy.errors import CallTimeout, ProxyError, SandboxGone
from autograder.sandbox.execute import execute_notebook
from autograder.sandbox.kernel import KernelDied, SandboxKernel
from autograder.sandbox.limits import Limits
from autograder.sandbox.probe import require_sandbox

KERNEL_SEED_LABEL = b"autograder: the student kernel's seed, v1"
KERNEL_SEED_ROUNDS = 200_000  # ~0.05 s here; inverting it over 2**31 run seeds costs years of CPU


def kernel_seed(seed: int) -> int:
    """The seed of the student's kernel: a slow one-way function of the run's seed with its own
    label, so that nothing the kernel can observe (``torch.initial_seed()``, numpy's state) leads
    back to the run seed that the hidden checks' inputs are drawn from."""
    digest = hashlib.pbkdf2_hmac("sha256", str(int(seed)).encode(), KERNEL_SEED_LABEL, KERNEL_SEED_ROUNDS)
    return int.from_bytes(digest[:8], "big") >> 1  # 63 bits: valid for torch, random and numpy


def prelude(seed: int, spec: AssignmentSpec) -> str:
    """Code run before the first cell: seed the global generators from :func:`kernel_seed`, so a
    notebook that never seeds them trains the same way when regraded with the same seed."""
    own = kernel_seed(seed)
    lines = ["import random as _ag_random", f"_ag_random.seed({own})",
             "import numpy as _ag_np", f"_ag_np.random.seed({own % 2**32})"]
    if spec.uses_torch:
        lines += ["import torch as _ag_torch", f"_ag_torch.manual_seed({own})", "del _ag_torch"]
    lines.append("del _ag_random, _ag_np")
    return "\n".join(lines)


def student_code(nb, released) -> list[str]:
    """The sources of the code cells the student wrote (everything but the released read-only and
    test cells, which :func:`restore_locked_cells` put back), read from the submitted notebook."""
    fixed = {meta["grade_id"] for meta in (cell.get("metadata", {}).get("nbgrader", {}) for cell in released.cells)
             if isinstance(meta, dict) and meta.get("grade_id") and (meta.get("locked") or meta.get("grade"))
             and not meta.get("solution")}
    sources = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if cell.get("cell_type") == "code" and not (isinstance(grade_id, str) and grade_id in fixed):
            sources.append(cell.get("source", ""))
    return sources


def released_notebook(spec: AssignmentSpec, root: Path):
    """The released notebook (the source of truth for locked and test cells)."""
    path = spec.release_notebook(root)
    if not path.is_file():
        raise UserError(f"assignment {spec.name!r} is not released ({path} is missing); "
                        f"run `autograder release {spec.name}` first")
    return nbformat.read(path, as_version=4)


def grade_submission(
    assignment: str | AssignmentSpec,
    data: bytes,
    student: str,
    notebook: str,
    seed: int,
    *,
    course_root: Path | None = None,
    data_root: Path | None = None,
    secure: bool = True,
    limits: Limits | None = None,
    kernel_factory=SandboxKernel,
) -> Graded:
    """Grade the notebook ``data`` of ``student`` for ``assignment`` with ``seed``.

    ``secure=False`` runs without the sandbox: only for the CLI's ``--insecure-no-sandbox``.
    ``kernel_factory(limits, mounts, env=, secure=)`` makes the sandboxed kernel (default: a fresh
    :class:`SandboxKernel`; a fork server can supply pre-warmed ones).
    """
    start = time.monotonic()
    if secure:
        require_sandbox()
    spec = get_assignment(assignment)
    root = Path(course_root or paths.course_root())
    data_root = Path(data_root or paths.quickdraw_dir())
    released = released_notebook(spec, root)
    cell_points = graded_points(spec.solution_notebook(root), released)
    context = CheckContext(seed=seed, reference=load_reference(spec.solution_notebook(root)),
                           data_root=data_root)
    timings: dict[str, float] = {}
    nb, error = _restored(data, released, context)
    kernel = executed = None
    try:
        if nb is not None:
            kernel, error = _start_kernel(kernel_factory, limits or spec.limits, spec.mounts(root, data_root),
                                          spec.env(), secure, context)
        if kernel is not None:
            timings["start"] = kernel.timings["start"]
            report = execute_notebook(kernel, nb, prelude=prelude(seed, spec))
            executed = nb
            timings["execute"] = report.seconds
            context.student, context.unavailable = _connect(kernel, report)
        checks_start = time.monotonic()
        checks = run_checks(spec.checks_dir, context, cell_points)
        timings["checks"] = time.monotonic() - checks_start
    finally:
        _close(context, kernel, timings)
    timings["total"] = time.monotonic() - start
    result = SubmissionResult(
        student=student, notebook=notebook, status="graded" if error is None else "error",
        score=round(sum(c.points for c in checks), 6), max_score=sum(c.max_points for c in checks),
        checks=checks, error=error, timings=timings)
    return Graded(result, executed)


def _restored(data: bytes, released, context: CheckContext) -> tuple[nbformat.NotebookNode | None, str | None]:
    """The submitted notebook with the released cells put back, or None and why it cannot be graded
    (the checks then report that reason instead of calling into a kernel)."""
    try:
        nb = restore_locked_cells(read_submission(data), released)
        context.sources = student_code(nb, released)
    except NotebookError as exc:
        error = f"the submission cannot be graded: {exc}"
        context.unavailable = ProxyError(error)
        return None, error
    return nb, None


def _start_kernel(kernel_factory, limits: Limits, mounts, env: dict[str, str], secure: bool,
                  context: CheckContext) -> tuple[SandboxKernel | None, str | None]:
    """The sandboxed kernel, or None and why it did not start (the checks then report that)."""
    try:
        return kernel_factory(limits, mounts, env=env, secure=secure), None
    except KernelDied as exc:
        error = f"the sandbox did not start: {exc}"
        context.unavailable = ProxyError(error)
        return None, error


def _close(context: CheckContext, kernel: SandboxKernel | None, timings: dict[str, float]) -> None:
    """Stop the checks' proxy and the kernel; record the sandbox's own CPU time (None without a cgroup)."""
    if context.student is not None:
        context.student.close()
    if kernel is not None:
        cpu = kernel.sandbox.cpu_seconds()
        if cpu is not None:
            timings["sandbox_cpu"] = cpu
        kernel.close()


def _connect(kernel: SandboxKernel, report) -> tuple[StudentProxy | None, ProxyError | None]:
    """A started proxy, or the reason why the checks cannot reach the notebook."""
    if not kernel.alive():
        if report.status == "timeout":
            return None, CallTimeout(report.error or "the notebook ran out of time")
        return None, SandboxGone(report.error or "the notebook's kernel died")
    proxy = StudentProxy(kernel)
    try:
        proxy.start()
    except ProxyError as exc:
        proxy.close()
        return None, exc
    return proxy, None
