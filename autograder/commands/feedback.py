"""``autograder feedback ASSIGNMENT``: one HTML report per student and notebook, no hidden source."""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.classroom.course import Course
from autograder.classroom.feedback import write_feedback
from autograder.commands.options import add_gradebook_option


def run(args: argparse.Namespace) -> int:
    """Handle ``autograder feedback``."""
    course = Course(db_url=args.db)
    paths = write_feedback(course, args.assignment, args.student, args.out)
    where = args.out or course.root / course.coursedir.feedback_directory
    print(f"wrote {len(paths)} feedback report(s) for {args.assignment} under {where}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``feedback`` subcommand."""
    parser = subparsers.add_parser(
        "feedback",
        help="write one HTML feedback report per student (no hidden test source)",
        description=(
            "Write feedback/<student>/ASSIGNMENT/<notebook>.html for every graded submission: the "
            "notebook's outputs, each check's outcome and message, points per graded cell (manual "
            "grades included) and the total. Hidden checks and hidden tests never appear."
        ),
    )
    parser.add_argument("assignment", metavar="ASSIGNMENT", help="assignment name (as in solutions/)")
    parser.add_argument("--student", action="append", metavar="ID", help="only this student (repeatable)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write under DIR/<student>/ASSIGNMENT/ instead")
    add_gradebook_option(parser)
    parser.set_defaults(func=run)
