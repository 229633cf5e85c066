"""The per-submission grading task: the same function runs in a local worker process or on a
Dask worker of another machine.

Its input is plain data (the notebook's bytes, never a path of the coordinating machine) and
its output too: ``{"result": <issue 4 result dict>, "executed": <notebook JSON or None>,
"seconds": float, "worker": str}``. It never raises: a fault of the grader itself (broken
checks, unreleased assignment) comes back with ``grader_fault`` set, and is not recorded as the
student's grade. Only the coordinating process writes the gradebook.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from pathlib import Path

from autograder.classroom.dropin import error_result


def make_payload(assignment: str, student: str, notebook: str, data: bytes, seed=None,
                 course_root: Path | None = None, db_url: str | None = None, options: dict | None = None) -> dict:
    """Everything one grading task needs, as plain picklable data."""
    return {"assignment": assignment, "student": student, "notebook": notebook, "data": bytes(data),
            "seed": seed, "course_root": str(course_root) if course_root else None,
            "options": dict(options or {})}


def _root(payload: dict) -> Path:
    """The course root: the coordinator's, or this machine's when that path does not exist here."""
    from autograder import paths

    root = payload.get("course_root")
    return Path(root) if root and Path(root, "assignments").is_dir() else paths.course_root()


def _limits(options: dict):
    from autograder.sandbox.limits import Limits

    changes = {k: v for k, v in (options.get("limits") or {}).items() if k in Limits.__dataclass_fields__}
    return Limits().with_(**changes)


def grade_task(payload: dict) -> dict:
    """Grade one submission from its payload (see :func:`make_payload`)."""
    start = time.monotonic()
    student, notebook = payload["student"], payload["notebook"]
    options = payload.get("options") or {}
    try:
        root = _root(payload)
        from autograder.classroom.engine import grade_with_checks, has_checks

        if has_checks(payload["assignment"]):
            result, executed = grade_with_checks(root, payload["assignment"], student, notebook,
                                                 payload["data"], payload.get("seed"), options)
        else:
            from autograder.classroom.course import Course
            from autograder.classroom.dropin import grade_dropin

            result, executed = grade_dropin(Course(root), payload["assignment"], student, notebook, payload["data"],
                                            payload.get("seed"), _limits(options),
                                            secure=not options.get("insecure", False),
                                            zygote=options.get("zygote", True))
    except Exception as exc:  # noqa: BLE001 - a fault of the grader, not of the submission
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        result, executed = error_result(student, notebook, f"internal grading error: {detail}"), None
        fault = True
    else:
        fault = False
    result.setdefault("seed", payload.get("seed"))
    return {"result": result, "executed": executed, "seconds": time.monotonic() - start,
            "worker": f"{socket.gethostname()}:{os.getpid()}", "grader_fault": fault}
