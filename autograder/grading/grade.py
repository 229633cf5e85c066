"""Grade one submission, whichever way its assignment is graded.

:func:`grade` is the engine's one entry point. An assignment with hidden checks
(``autograder/checks/<name>/``) is graded by :func:`~autograder.grading.grader.grade_submission`;
any other is a drop-in nbgrader assignment, graded by
:func:`~autograder.grading.dropin.grade_dropin` from the course's source notebook. Either way the
answer is a :class:`~autograder.grading.results.Graded` holding the one result type,
:class:`~autograder.grading.results.SubmissionResult`.

``options`` is plain data shared by every submission of a run: ``data_root`` (the prepared
QuickDraw root; default the course's ``data/quickdraw``), ``insecure`` (no sandbox: the CLI's
``--insecure-no-sandbox``), ``zygote`` (kernels forked from a pre-warmed zygote, default True)
``limits`` (:class:`~autograder.sandbox.limits.Limits` fields to override) and ``checks`` (grade
with the checks and ``assignment.toml`` in that folder instead of ``autograder/checks/<name>/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from autograder.errors import UserError
from autograder.grading.assignments import get_assignment, is_graded
from autograder.grading.dropin import grade_dropin
from autograder.grading.grader import grade_submission
from autograder.grading.results import Graded
from autograder.sandbox.kernel import SandboxKernel
from autograder.sandbox.limits import Limits
from autograder.sandbox.zygote import kernel_factory


class NbgraderCourse(Protocol):
    """What grading a drop-in assignment reads of the course (:class:`autograder.classroom.course.Course`)."""

    root: Path
    config: object

    def released_notebooks(self, assignment: str) -> dict[str, Path]: ...

    def source_notebooks(self, assignment: str) -> dict[str, Path]: ...


def with_overrides(limits: Limits, options: dict) -> Limits:
    """``limits`` with the fields that ``options["limits"]`` overrides."""
    changes = {k: v for k, v in (options.get("limits") or {}).items() if k in Limits.__dataclass_fields__}
    return limits.with_(**changes)


def grade(assignment: str, student: str, notebook: str, data: bytes, seed: int, *, course_root: Path,
          course: NbgraderCourse | None = None, options: dict | None = None) -> Graded:
    """Grade the notebook ``data`` (``notebook``.ipynb of ``student``) with the run's ``seed``.

    ``course`` is the nbgrader course at ``course_root``, needed only by drop-in assignments.
    Raises only for faults of the grader (unknown or unreleased assignment, broken checks).
    """
    options = options or {}
    secure = not options.get("insecure", False)
    factory = kernel_factory if options.get("zygote", True) else SandboxKernel
    if options.get("checks") or is_graded(assignment):
        spec = get_assignment(assignment, checks=options.get("checks"))
        data_root = options.get("data_root")
        if not data_root or not Path(data_root).is_dir():
            data_root = Path(course_root) / "data" / "quickdraw"
        return grade_submission(spec, data, student, notebook, int(seed), course_root=Path(course_root),
                                data_root=Path(data_root), secure=secure,
                                limits=with_overrides(spec.limits, options), kernel_factory=factory)
    if course is None:
        raise UserError(f"{assignment!r} has no hidden checks and {course_root} is not an nbgrader course")
    return grade_dropin(course, assignment, student, notebook, data, with_overrides(Limits(), options),
                        secure=secure, kernel_factory=factory)
