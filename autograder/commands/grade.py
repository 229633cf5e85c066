"""``autograder grade ASSIGNMENT [NOTEBOOK_OR_DIR ...] [--seed S] [--json FILE]``.

The submissions are graded by :func:`~autograder.classroom.grade_class.grade_class` (parallel or on
Dask, recorded in the gradebook when they are the course's ``submitted/`` notebooks); its
:class:`~autograder.grading.results.SubmissionResult` objects are the table and the ``--json``
document as they are.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

from autograder import paths
from autograder.classroom.course import Course
from autograder.classroom.grade_class import grade_class
from autograder.commands.options import add_gradebook_option
from autograder.errors import UserError
from autograder.grading.assignments import discover, get_assignment, is_graded
from autograder.grading.grader import released_notebook
from autograder.grading.results import GradingRun
from autograder.grading.submissions import Submission, find_submissions
from autograder.sandbox.probe import require_sandbox

DESCRIPTION = """\
Grade submitted notebooks of ASSIGNMENT. Each notebook runs once in its own sandbox (no
network, limits on time/memory/processes, an unprivileged user, nothing of the course visible);
then the hidden checks in autograder/checks/ASSIGNMENT/ call into it and score each autograder
test cell. A path may be a notebook (the student is taken from nbgrader's
submitted/<student>/ASSIGNMENT/ layout, else from the file name) or a folder of notebooks;
without paths, nbgrader's submitted/ folder is graded. Regrading with the printed --seed
reproduces every score."""


def register(subparsers) -> None:
    """Add the ``grade`` subcommand."""
    parser = subparsers.add_parser(
        "grade", help="grade notebooks in a sandbox with the hidden checks", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", metavar="ASSIGNMENT", help="assignment name, e.g. xor")
    parser.add_argument("paths", metavar="NOTEBOOK_OR_DIR", nargs="*", type=Path,
                        help="notebooks or folders of notebooks (default: submitted/)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the checks' random inputs (default: a new random seed, printed)")
    parser.add_argument("--json", metavar="FILE", type=Path, default=None,
                        help="also write the results as JSON to FILE")
    parser.add_argument("--data", metavar="DIR", type=Path, default=None,
                        help="prepared QuickDraw root holding homework/ and instructor/ (default: data/quickdraw)")
    parser.add_argument("--insecure-no-sandbox", action="store_true",
                        help="run student code WITHOUT the sandbox (only for trusted notebooks)")
    add_batch_options(parser)
    parser.set_defaults(func=handle)


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    """The class-grading options of ``autograder grade``."""
    parser.add_argument("--workers", type=int, metavar="N", default=None,
                        help="notebooks graded at the same time, one sandbox each (default: all cores)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                        help="grade on this running Dask cluster instead (its workers need the course "
                             "repository and bubblewrap; only this process writes the gradebook)")
    parser.add_argument("--force", action="store_true",
                        help="regrade submissions the gradebook already holds (default: skip them)")
    add_gradebook_option(parser, "; e.g. postgresql+psycopg://... when several machines grade")


def check_gradable(assignment: str, root: Path) -> None:
    """A clear error unless ``assignment`` is released and has hidden checks or nbgrader tests."""
    if is_graded(assignment):
        released_notebook(get_assignment(assignment), root)
        return
    course = Course(root)
    if not course.source_notebooks(assignment):
        graded = ", ".join(spec.name for spec in discover())
        raise UserError(f"unknown assignment {assignment!r}; graded assignments: {graded} "
                        "(or a released nbgrader assignment in solutions/)")
    course.released_notebooks(assignment)  # raises when it is not released


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def grade_from_cli(args: argparse.Namespace, assignment: str, submissions: list[Submission], seed: int,
                   root: Path, secure: bool = True) -> GradingRun:
    """Grade the CLI's ``submissions``; return them as a GradingRun."""
    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be at least 1")
    # without an nbgrader course (no nbgrader_config.py) there is no gradebook: grade only
    course = Course(root, args.db) if (Path(root) / "nbgrader_config.py").is_file() else None
    record = course is not None and bool(submissions) \
        and all(_inside(s.path, course.submitted_root()) for s in submissions)
    options = {"data_root": str(args.data) if getattr(args, "data", None) else None, "insecure": not secure}
    report = grade_class(assignment, submissions, workers=args.workers, scheduler=args.scheduler, force=args.force,
                         seed=seed, course=course, options=options, record=record, root=root)
    print(report.summary() + ("" if record else "\n(notebooks outside submitted/: not recorded in the gradebook)"),
          file=sys.stderr)
    return GradingRun(assignment, seed, report.results)


def format_table(run: GradingRun) -> str:
    """The human-readable summary printed on stdout."""
    rows = [("student", "status", "score", "max", "checks passed")]
    for sub in run.submissions:
        passed = sum(c.outcome == "passed" for c in sub.checks)
        rows.append((sub.student, sub.status, f"{sub.score:g}", f"{sub.max_score:g}", f"{passed}/{len(sub.checks)}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for sub in run.submissions:
        if sub.error:
            lines.append(f"{sub.student}: {sub.error}")
    return "\n".join(lines)


def handle(args) -> int:
    """Grade the submissions and report."""
    root = paths.course_root()
    check_gradable(args.assignment, root)  # fail early: unknown or unreleased assignment
    submissions = find_submissions(args.assignment, args.paths, root)
    secure = require_sandbox(insecure=args.insecure_no_sandbox)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    run = grade_from_cli(args, args.assignment, submissions, seed, root, secure=secure)
    print(f"assignment {args.assignment}, seed {seed} (regrade with --seed {seed})")
    print(format_table(run))
    if args.json is not None:
        tmp = args.json.with_name(args.json.name + ".tmp")
        try:
            tmp.write_text(json.dumps(run.to_json(), indent=2))
            os.replace(tmp, args.json)
        except OSError as exc:
            raise UserError(f"cannot write {args.json}: {exc.strerror}") from None
    return 0
