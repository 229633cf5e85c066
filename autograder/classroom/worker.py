"""Grade one queued submission in a worker process: a local pool's or a Dask worker's.

The job is plain data (:func:`make_payload`: the notebook's bytes, never a path of the
coordinating machine) and so is the answer, a :class:`TaskOutput` holding the engine's
:class:`~autograder.grading.results.SubmissionResult` unchanged. :func:`grade_task` never
raises: a fault of the grader itself (broken checks, unreleased assignment) comes back with
``grader_fault`` set, and is not recorded as the student's grade. Only the coordinating process
(:mod:`autograder.classroom.grade_class`) writes the gradebook.
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from autograder import paths
from autograder.classroom.course import Course
from autograder.grading.grade import grade
from autograder.grading.results import SubmissionResult, error_result


@dataclass
class TaskOutput:
    """What grading one submission gave: its result and executed notebook (JSON; None when it
    never ran), the seconds it took, the worker (``host:pid``) and whether the grader failed."""

    result: SubmissionResult
    executed: str | None
    seconds: float = 0.0
    worker: str = "?"
    grader_fault: bool = False


def make_payload(assignment: str, student: str, notebook: str, data: bytes, seed=None,
                 course_root: Path | None = None, options: dict | None = None) -> dict:
    """Everything one grading task needs, as plain picklable data (``options``: see
    :mod:`autograder.grading.grade`)."""
    return {"assignment": assignment, "student": student, "notebook": notebook, "data": bytes(data),
            "seed": seed, "course_root": str(course_root) if course_root else None,
            "options": dict(options or {})}


def course_root_of(payload: dict) -> Path:
    """The course root: the coordinator's, or this machine's when that path does not exist here."""
    root = payload.get("course_root")
    return Path(root) if root and Path(root, "assignments").is_dir() else paths.course_root()


def grade_task(payload: dict) -> TaskOutput:
    """Grade one submission from its payload (see :func:`make_payload`)."""
    start = time.monotonic()
    student, notebook = payload["student"], payload["notebook"]
    try:
        root = course_root_of(payload)
        course = Course(root) if (root / "nbgrader_config.py").is_file() else None
        graded = grade(payload["assignment"], student, notebook, payload["data"], payload.get("seed"),
                       course_root=root, course=course, options=payload.get("options"))
    except Exception as exc:  # noqa: BLE001 - a fault of the grader, not of the submission
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        result, executed, fault = error_result(student, notebook, f"internal grading error: {detail}"), None, True
    else:
        executed = None if graded.executed is None else json.dumps(graded.executed)
        result, fault = graded.result, False
    return TaskOutput(result, executed, time.monotonic() - start, f"{socket.gethostname()}:{os.getpid()}", fault)
