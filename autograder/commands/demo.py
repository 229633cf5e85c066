"""``autograder demo [FOLDER]`` (a ``make demo`` stage): grade a simulated class per assignment.

Prints each assignment's batch summary and then one table: student x assignment -> score.
``make demo`` then exports the grades with ``autograder export``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from autograder.classroom.demo import STUDENTS, build_course, demo_assignments, grade_demo_assignment
from autograder.classroom.grade_class import default_workers
from autograder.paths import course_root


def run(args: argparse.Namespace) -> int:
    """Handle ``autograder demo``."""
    repo = course_root()
    target = Path(args.folder).resolve() if args.folder else repo / "build" / "demo-class"
    course = build_course(target, repo)
    graded = demo_assignments(repo)
    print(f"demo course: {target}; assignments with hidden checks: {', '.join(graded)}; "
          f"{default_workers()} parallel sandboxes")
    start = time.monotonic()
    table: dict[str, dict[str, str]] = {student: {} for student in STUDENTS}
    for assignment in graded:
        report, reports = grade_demo_assignment(course, assignment)
        print(report.summary())
        for result in report.results:
            table[result.student][assignment] = (f"{result.score:g}/{result.max_score:g}"
                                                 if result.status == "graded" else "error")
        print(f"feedback: {len(reports)} HTML reports under {course.root / 'feedback'}/<student>/{assignment}/")
    print()
    width = max(len(a) for a in graded) + 2
    print("student   " + "".join(a.rjust(width) for a in graded))
    for student, row in table.items():
        print(f"{student:10}" + "".join(row.get(a, "-").rjust(width) for a in graded))
    print(f"graded {len(STUDENTS) * len(graded)} notebooks in {time.monotonic() - start:.0f} s; "
          f"the hostile student tampered with a test cell and its points and snooped around: "
          f"its scores come from the trusted checks only")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo", help="grade a simulated class for every assignment (the grading stage of `make demo`)",
        description="Build a throw-away course in FOLDER, submit four simulated students per assignment "
                    "with hidden checks (correct, partly, blank, hostile), grade them in parallel "
                    "sandboxes, write their feedback and print the scores.")
    parser.add_argument("folder", nargs="?", metavar="FOLDER", help="the demo course (default: build/demo-class)")
    parser.set_defaults(func=run)
