"""What ``autograder grade`` needs from the classroom layer: the batch options and one call.

``add_batch_options(parser)`` adds ``--workers``, ``--scheduler``, ``--force`` and ``--db``;
``check_gradable`` accepts assignments with hidden checks and nbgrader-style ones;
``grade_from_cli`` grades the submissions with :func:`~autograder.classroom.batch.grade_batch`
(parallel or on Dask, recorded in the gradebook when they are the course's ``submitted/``
notebooks) and returns the engine's ``GradingRun``, so the command's table and ``--json`` stay
as they are.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.classroom.batch import grade_batch
from autograder.classroom.course import Course, Submission
from autograder.classroom.engine import has_checks
from autograder.errors import UserError


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    """The class-grading options of ``autograder grade``."""
    parser.add_argument("--workers", type=int, metavar="N", default=None,
                        help="notebooks graded at the same time, one sandbox each (default: all cores)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                        help="grade on this running Dask cluster instead (its workers need the course "
                             "repository and bubblewrap; only this process writes the gradebook)")
    parser.add_argument("--force", action="store_true",
                        help="regrade submissions the gradebook already holds (default: skip them)")
    parser.add_argument("--db", metavar="URL", default=None,
                        help="gradebook URL (default: the course's gradebook.db; e.g. postgresql+psycopg://... "
                             "when several machines grade)")


def check_gradable(assignment: str, root: Path) -> None:
    """A clear error unless ``assignment`` is released and has hidden checks or nbgrader tests."""
    if has_checks(assignment):
        from autograder.grading.assignments import get_assignment
        from autograder.grading.grader import released_notebook

        released_notebook(get_assignment(assignment), root)
        return
    course = Course(root)
    if not course.source_notebooks(assignment):
        from autograder.grading.assignments import ASSIGNMENTS

        raise UserError(f"unknown assignment {assignment!r}; graded assignments: {', '.join(sorted(ASSIGNMENTS))} "
                        "(or a released nbgrader assignment in solutions/)")
    course.released_notebooks(assignment)  # raises when it is not released


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def grade_from_cli(args: argparse.Namespace, assignment: str, submissions, seed: int, root: Path,
                   secure: bool = True):
    """Grade the CLI's ``submissions`` (objects with ``student`` and ``path``); return a GradingRun."""
    from autograder.grading.results import CheckResult, GradingRun, SubmissionResult

    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be at least 1")
    # without an nbgrader course (no nbgrader_config.py) there is no gradebook: grade only
    course = Course(root, args.db) if (Path(root) / "nbgrader_config.py").is_file() else None
    subs = []
    for sub in submissions:
        path = Path(sub.path)
        stamp = path.parent / "timestamp.txt"
        subs.append(Submission(sub.student, path.stem, path,
                               stamp.read_text().strip() or None if stamp.is_file() else None))
    record = course is not None and bool(subs) and all(_inside(s.path, course.submitted_root()) for s in subs)
    options = {"data_root": str(args.data) if getattr(args, "data", None) else None, "insecure": not secure}
    report = grade_batch(assignment, subs, workers=args.workers, scheduler=args.scheduler, force=args.force,
                         seed=seed, course=course, options=options, record=record, root=root)
    print(report.summary() + ("" if record else "\n(notebooks outside submitted/: not recorded in the gradebook)"),
          file=sys.stderr)
    run = GradingRun(assignment, seed)
    for result in report.results:
        fields = {k: result.get(k) for k in ("student", "notebook", "status", "score", "max_score", "error")}
        checks = [CheckResult(**{k: c.get(k) for k in ("name", "cell", "points", "max_points", "outcome", "message")})
                  for c in result.get("checks") or []]
        run.submissions.append(SubmissionResult(**fields, checks=checks, timings=result.get("timings") or {}))
    return run
