"""Grade a drop-in nbgrader assignment (test cells holding plain ``assert``s, visible, hidden and
autotest) so that the student's kernel decides nothing.

Only the student's cells run in the sandbox (:mod:`autograder.sandbox`, in a kernel made by
``kernel_factory``: a zygote's or a fresh one): solution cells, the cells the student added, and
the locked cells with their released source put back (OverwriteCells-style; duplicated or invented grade ids lose their
nbgrader metadata). Each test cell is run, at its place in the notebook, in the trusted process
by :class:`~autograder.grading.trusted_cells.TrustedCellRunner` from the instructor's full
source (:mod:`autograder.grading.instructor_source`), which never enters the sandbox: it sees the
student's state as of that point, reached through the proxy. A test cell earns its points when
it raised nothing (a numeric last value gives partial credit), as in nbgrader, but that is
judged here: kernel hooks, custom exception handlers, patched builtins or numpy, and objects
whose ``==`` is always true change nothing, and stderr costs nothing (nbgrader PR #1904). The
executed notebook handed back has the released source in its test cells and no message or
output that quotes a hidden line.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.grading.instructor_source import is_test_cell, load_test_sources
from autograder.grading.redact import MIN_LENGTH, Redactor, hidden_lines
from autograder.grading.results import CheckResult, Graded, SubmissionResult, error_result
from autograder.grading.structure import grade_id_of, released_cells
from autograder.grading.trusted_cells import EXECUTION_VARIABLE, TrustedCellRunner, Verdict
from autograder.proxy.client import StudentProxy
from autograder.proxy.errors import ProxyError
from autograder.sandbox.bwrap import Mount
from autograder.sandbox.execute import execute_notebook
from autograder.sandbox.kernel import SandboxKernel
from autograder.sandbox.limits import Limits

MESSAGE_LIMIT = 500


def prepare_run(student_nb, released_nb):
    """The notebook to execute: the student's, outputs cleared, every locked cell's released
    source back, nbgrader metadata only on the cells the release has (each id once)."""
    released = released_cells(released_nb)
    seen = set()
    for cell in student_nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        grade_id = grade_id_of(cell)
        if grade_id is None:
            cell.get("metadata", {}).pop("nbgrader", None)
            continue
        if grade_id in seen or grade_id not in released:  # duplicated or invented ids count for nothing
            del cell.metadata["nbgrader"]
            continue
        seen.add(grade_id)
        info = released[grade_id].metadata["nbgrader"]
        if (info.get("locked") and not info.get("solution")) or is_test_cell(released[grade_id]):
            _restore(cell, released[grade_id])
        cell.metadata["nbgrader"] = dict(info)
    return student_nb


def _restore(cell, reference) -> None:
    if cell.cell_type != reference.cell_type:
        cell.cell_type = reference.cell_type
        if reference.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    cell.source = reference.source


def assignment_files(release_folder: Path) -> list[Mount]:
    """What the assignment gives students besides the notebooks (bound read-only in the sandbox)."""
    return [Mount(p, p.name) for p in sorted(release_folder.iterdir())
            if p.suffix != ".ipynb" and not p.name.startswith(".")]


class _TestCellHook:
    """``execute_notebook``'s ``run_outside``: runs each released test cell in the trusted process."""

    def __init__(self, kernel, sources, points: dict[str, float], redactor: Redactor):
        self.kernel, self.sources, self.points, self.redactor = kernel, sources, points, redactor
        self.runner = self.proxy = self.failure = None
        self.verdicts: dict[str, Verdict] = {}

    def __call__(self, index: int, cell) -> bool:
        grade_id = grade_id_of(cell)
        if cell.cell_type != "code" or grade_id not in self.points or not is_test_cell(cell):
            return False
        test = self.sources.cells.get(grade_id)
        verdict = self._start() if test is not None else Verdict(
            0.0, "error", "the instructor's source has no such test cell", [])
        if verdict is None:
            verdict = self.runner.run(test, self.points[grade_id])
        cell.outputs, cell.execution_count = verdict.outputs, index + 1
        self.verdicts[grade_id] = verdict
        return True

    def _start(self):
        """Connect the trusted runner to the kernel (once); a Verdict when that is impossible."""
        if self.runner is not None or self.failure is not None:
            return self.failure
        self.proxy = StudentProxy(self.kernel, native_errors=True, truth_of_objects=False)
        try:
            self.proxy.start()
        except ProxyError as exc:
            self.failure = Verdict(0.0, "error", f"the grader could not reach your notebook: {exc}"[:MESSAGE_LIMIT], [])
            return self.failure
        self.runner = TrustedCellRunner(self.proxy, self.sources.student_names, self.sources.instructor_imports,
                                        min(self.kernel.limits.cell_timeout, self.kernel.limits.check_timeout),
                                        self.redactor.text)
        return None

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()


def score_cells(released_nb, hook: _TestCellHook, report) -> list[CheckResult]:
    """One check per test cell of the released notebook, with the trusted verdict."""
    checks = []
    for ref in released_nb.cells:
        if not is_test_cell(ref):
            continue
        name, limit = grade_id_of(ref), float(ref.metadata["nbgrader"].get("points", 0))
        verdict = hook.verdicts.get(name)
        if verdict is not None:
            points, outcome, message = verdict.points, verdict.outcome, verdict.message
        elif report is not None and report.error:
            points, outcome, message = 0.0, "error", f"the test cell did not run: {report.error}"[:MESSAGE_LIMIT]
        else:
            points, outcome, message = 0.0, "error", "this test cell is missing from the submission"
        checks.append(CheckResult(name, name, points, limit, outcome, message))
    return checks


def _public_copy(nb, redactor: Redactor):
    """The executed notebook without traceback text and with every output redacted."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', '')}: {output.get('evalue', '')}"]
            redactor.outputs(cell.get("outputs", []))
    return nb


def _redactor(assignment: str, source_path: Path, released_path: Path, sources) -> Redactor:
    """Lines of the instructor's notebook (autotest expansions included) students never saw."""
    lines = hidden_lines(assignment, [source_path], [released_path])
    for cell in sources.cells.values():
        source_lines = cell.source.splitlines()
        lines |= {source_lines[n - 1].strip() for n in cell.hidden
                  if n <= len(source_lines) and len(source_lines[n - 1].strip()) >= MIN_LENGTH}
    return Redactor(lines)


def _read_student(data: bytes):
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    if not isinstance(nb.get("cells"), list):
        raise ValueError("no cells")
    return nb


def grade_dropin(course, assignment: str, student: str, notebook: str, data: bytes,
                 limits: Limits | None = None, secure: bool = True, kernel_factory=SandboxKernel) -> Graded:
    """Grade one drop-in nbgrader submission of ``course`` (an nbgrader course: its ``root``,
    ``config``, ``released_notebooks`` and ``source_notebooks``); the executed notebook handed
    back quotes no hidden line. ``kernel_factory`` is as for
    :func:`~autograder.grading.grader.grade_submission`."""
    released_path = course.released_notebooks(assignment).get(notebook)
    source_path = course.source_notebooks(assignment).get(notebook)
    if released_path is None or source_path is None:
        return Graded(error_result(student, notebook, f"{notebook}.ipynb is not a notebook of {assignment}"), None)
    released_nb = nbformat.read(released_path, as_version=4)
    points = {grade_id_of(c): float(c.metadata["nbgrader"].get("points", 0)) for c in released_nb.cells
              if is_test_cell(c)}
    max_score = sum(points.values())
    try:
        student_nb = _read_student(data)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the submission's fault
        return Graded(error_result(student, notebook, f"not a readable notebook ({type(exc).__name__})", max_score),
                      None)
    sources = load_test_sources(source_path, released_nb, course.root, course.config)
    redactor = _redactor(assignment, source_path, released_path, sources)
    nb = prepare_run(student_nb, released_nb)
    limits = limits or Limits()
    try:
        kernel = kernel_factory(limits, assignment_files(released_path.parent),
                                env={EXECUTION_VARIABLE: "autograde"}, secure=secure)
    except Exception as exc:  # noqa: BLE001 - a sandbox that cannot start fails this submission only
        return Graded(error_result(student, notebook, f"the sandbox failed: {exc}"[:MESSAGE_LIMIT], max_score), None)
    hook = _TestCellHook(kernel, sources, points, redactor)
    try:
        report = execute_notebook(kernel, nb, run_outside=hook)
    finally:
        hook.close()
        kernel.close()
    checks = score_cells(released_nb, hook, report)
    result = SubmissionResult(student, notebook, "graded", sum(c.points for c in checks), max_score, checks)
    return Graded(result, _public_copy(nb, redactor))
