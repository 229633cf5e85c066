"""Adapter from the batch task to the trusted-checks engine (:mod:`autograder.grading`).

The engine grades one notebook's bytes (sandboxed run, then the hidden pytest checks through
the student proxy); this module passes the batch's seed, limits and course folders and turns
its result into plain data (the result dict of ``autograder grade --json`` and the executed
notebook's JSON) that can travel back from a worker process or a Dask worker. Kernels come from
this worker's pre-warmed zygote (:mod:`autograder.classroom.zygote`) unless ``options["zygote"]``
is False.
"""

from __future__ import annotations

import json
from pathlib import Path


def has_checks(assignment: str) -> bool:
    """True when ``assignment`` is graded by hidden checks (else it is an nbgrader-style one)."""
    from autograder.grading.assignments import ASSIGNMENTS

    return assignment in ASSIGNMENTS and ASSIGNMENTS[assignment].checks_dir.is_dir()


def grade_with_checks(root: Path, assignment: str, student: str, notebook: str, data: bytes, seed,
                      options: dict) -> tuple[dict, str | None]:
    """Grade one submission with the engine; return (result dict, executed notebook JSON)."""
    from autograder.grading.assignments import get_assignment
    from autograder.grading.grader import grade_submission

    spec = get_assignment(assignment)
    changes = {k: v for k, v in (options.get("limits") or {}).items() if k in spec.limits.__dataclass_fields__}
    data_root = options.get("data_root")
    if not data_root or not Path(data_root).is_dir():
        data_root = Path(root) / "data" / "quickdraw"
    extra = {}
    if options.get("zygote", True):
        from autograder.classroom.zygote import kernel_factory

        extra["kernel_factory"] = kernel_factory
    graded = grade_submission(spec, data, student, notebook, int(seed), course_root=Path(root),
                              data_root=Path(data_root), secure=not options.get("insecure", False),
                              limits=spec.limits.with_(**changes), **extra)
    result = graded.result.to_json()
    result["seed"] = seed
    executed = None if graded.executed is None else json.dumps(graded.executed)
    return result, executed
