"""Run an assignment's hidden checks with pytest, in this (trusted) process, and score them.

Fixtures for the checks: ``student`` (the proxy into the sandbox), ``reference`` (the reference
solution's definitions), ``rng`` (a numpy Generator seeded from the run's seed and the check's
name, so a regrade with the same seed draws the same inputs), ``credit`` (partial credit) and
``grading`` (the run's context: seed, data folders) and ``student_code`` (the sources of the code
cells the student wrote, read from the submitted notebook in this process, for rules such as
"written by hand"). Each check carries ``@check(cell, weight)``: it scores a share of the points
the solution notebook gives that autograder test cell (:mod:`autograder.grading.points`).

A verdict comes only from what the check itself decides: nothing the student prints or writes to
stderr is looked at, and messages are built from exception messages, never from tracebacks.
"""

from __future__ import annotations

import contextlib
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.errors import UserError
from autograder.grading.assignments import CHECKS_ROOT, AssignmentSpec
from autograder.grading.expect import CheckFailed, Credit
from autograder.grading.points import autograded_points, share_points
from autograder.grading.results import CheckResult
from autograder.proxy.errors import CallTimeout, ProxyError, StudentError

MESSAGE_LIMIT = 600


@dataclass
class CheckContext:
    """What the fixtures hand to the checks."""

    seed: int
    reference: object
    student: object | None = None  # a started StudentProxy, or None when unavailable
    unavailable: ProxyError | None = None  # why there is no student (raised by the fixture)
    data_root: Path | None = None  # prepared QuickDraw root (homework/, instructor/)
    sources: list[str] | None = None  # the student's code cells, from the submitted notebook


def _message(exc: BaseException) -> tuple[str, str]:
    """(outcome, message) for an exception raised by a check or its fixtures."""
    if isinstance(exc, CallTimeout):
        return "timeout", str(exc)
    if isinstance(exc, StudentError):
        if exc.type_name == "NameError":
            return "error", exc.message
        return "error", f"your code raised {exc}"
    if isinstance(exc, ProxyError):
        return "error", str(exc)
    if isinstance(exc, CheckFailed):
        return "failed", str(exc) or "the answer is not correct"
    if isinstance(exc, AssertionError):  # a bare assert: its text may quote the check's source
        return "failed", "the answer is not correct"
    return "failed", f"unexpected result ({type(exc).__name__}: {exc})"


class GradingPlugin:
    """A pytest plugin object: fixtures plus a report hook collecting one result per check.
    ``cell_points`` (grade_id -> points) are shared between the checks of each cell."""

    def __init__(self, context: CheckContext, cell_points: dict[str, float]):
        self.context = context
        self.cell_points = cell_points
        self.points: dict[str, float] = {}
        self.results: dict[str, CheckResult] = {}
        self.credits: dict[str, Credit] = {}
        self.problems: list[str] = []

    @pytest.fixture(scope="session")
    def student(self):
        """The student's notebook namespace (through the proxy)."""
        if self.context.student is None:
            raise self.context.unavailable or ProxyError("the notebook did not run")
        return self.context.student

    @pytest.fixture(scope="session")
    def reference(self):
        """The reference solution's definitions."""
        return self.context.reference

    @pytest.fixture(scope="session")
    def grading(self):
        """The run's context (seed, data folders)."""
        return self.context

    @pytest.fixture(scope="session")
    def student_code(self):
        """The sources of the student's own code cells (never what the kernel reports)."""
        if self.context.sources is None:
            raise self.context.unavailable or ProxyError("the notebook could not be read")
        return list(self.context.sources)

    @pytest.fixture
    def rng(self, request):
        """A generator seeded by the run's seed and this check's name."""
        return np.random.default_rng([self.context.seed, zlib.crc32(request.node.name.encode())])

    @pytest.fixture
    def credit(self, request):
        """Partial credit for this check."""
        return self.credits.setdefault(request.node.nodeid, Credit())

    def pytest_collection_modifyitems(self, items):
        marks = {}
        for item in items:
            marker = item.get_closest_marker("grade")
            if marker is None or set(marker.kwargs) != {"cell", "weight"}:
                self.problems.append(f"{item.nodeid} has no @check(cell)")
            else:
                marks[item.nodeid] = (marker.kwargs["cell"], marker.kwargs["weight"])
        self.points, problems = share_points(marks, self.cell_points)
        self.problems += problems
        if self.problems:  # nothing is scored by checks that do not fit the points
            items.clear()

    def pytest_collectreport(self, report):
        if report.failed:
            self.problems.append(f"cannot collect {report.nodeid}: {report.longreprtext[-300:]}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        student = self.context.student
        if student is None:
            yield
            return
        with student.check_budget():
            yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if call.when == "teardown" or (call.when == "setup" and not report.failed):
            return
        if item.nodeid not in self.points:
            return
        cell, points = item.get_closest_marker("grade").kwargs["cell"], self.points[item.nodeid]
        credit = self.credits.get(item.nodeid)
        earned = None if credit is None else credit.fraction
        if call.excinfo is None:
            fraction = 1.0 if earned is None else earned
            result_outcome = "passed" if fraction == 1.0 else "failed"
            message = "" if fraction == 1.0 else credit.message
        else:
            result_outcome, message = _message(call.excinfo.value)
            fraction = 0.0 if earned is None else earned
            if earned is not None and credit.message and credit.message not in message:
                message = f"{credit.message}; {message}"
        self.results[item.nodeid] = CheckResult(
            name=item.name, cell=cell, points=round(points * fraction, 6), max_points=points,
            outcome=result_outcome, message=message[:MESSAGE_LIMIT])


@contextlib.contextmanager
def _one_torch_thread():
    """Run the checks' own computations (reference training, evaluations) on one torch thread, as
    the notebooks do: the same numerics as the sandbox's run, and no thread contention (a small
    reference training took 70.7 s on 2 threads vs 2.9 s on 1 on the loaded 2-core machine)."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _pytest_args(checks_dir: Path) -> list[str]:
    # the unraisable/thread-exception plugins run gc.collect() several times at exit: with torch
    # loaded that was 0.35 s of a 0.5 s run, per submission
    quiet = ["cacheprovider", "terminal", "randomly", "unraisableexception", "threadexception"]
    return [str(checks_dir), *[arg for name in quiet for arg in ("-p", f"no:{name}")], "--assert=plain",
            "--rootdir", str(checks_dir), "-c", str(CHECKS_ROOT / "pytest.ini"), "-W", "ignore"]


def run_checks(checks_dir: Path, context: CheckContext, cell_points: dict[str, float]) -> list[CheckResult]:
    """Run every check in ``checks_dir``, sharing ``cell_points`` (grade_id -> points) between the
    checks of each cell; raise RuntimeError when the checks are broken or disagree with the points."""
    plugin = GradingPlugin(context, cell_points)
    with _one_torch_thread():
        code = pytest.main(_pytest_args(checks_dir), plugins=[plugin])
    if plugin.problems or code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not plugin.results:
        detail = "; ".join(plugin.problems) or f"pytest exit code {int(code)}"
        raise RuntimeError(f"the hidden checks in {checks_dir} are broken: {detail}")
    return list(plugin.results.values())


def verify_points(spec: AssignmentSpec, root: Path) -> None:
    """Collect (not run) ``spec``'s checks: a UserError naming the cell and both numbers unless
    every autograder test cell of the solution notebook with points is scored by a check and
    every check scores such a cell (``autograder release`` calls this before releasing)."""
    solution = spec.solution_notebook(root)
    try:
        nb = nbformat.read(solution, as_version=4)
    except Exception as exc:  # nbformat raises many types for a broken file
        detail = (str(exc).strip().splitlines() or [""])[0]
        raise UserError(f"{spec.name}: cannot read {solution} ({type(exc).__name__}: {detail})") from None
    plugin = GradingPlugin(CheckContext(seed=0, reference=None), autograded_points(nb))
    code = pytest.main([*_pytest_args(spec.checks_dir), "--collect-only"], plugins=[plugin])
    if plugin.problems or code != pytest.ExitCode.OK:
        detail = "; ".join(plugin.problems) or f"pytest exit code {int(code)}"
        raise UserError(f"{spec.name}: the hidden checks in {spec.checks_dir} do not fit {solution}: {detail}")
