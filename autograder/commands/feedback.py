"""``autograder feedback ASSIGNMENT``: one HTML report per student and notebook, no hidden source;
``autograder feedback release|hold|practice ASSIGNMENT``: the course server's switch for the hidden
checks' results of handed-in attempts (the dashboard's "release feedback" button), on its database."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from autograder.classroom.course import Course
from autograder.classroom.feedback import write_feedback
from autograder.commands.leaderboard_actions import open_leaderboard
from autograder.commands.options import add_gradebook_option

POLICIES = {"release": {"feedback_released": True}, "hold": {"feedback_released": False},
            "practice": {"practice": True}}


def set_policy(args: argparse.Namespace) -> int:
    """Release, hold back or make practice the hidden results of ``args.assignment`` on the server's database."""
    Course().released_notebooks(args.assignment)  # a clear error for an assignment that was not released
    lb = open_leaderboard(argparse.Namespace(db=args.server_db))
    try:
        lb.create_homework_tables()
        policy = lb.set_policy(args.assignment, **POLICIES[args.action])
    finally:
        lb.dispose()
    shown = "practice: shown at once" if policy.practice else "released" if policy.feedback_released else "held back"
    print(f"{args.assignment}: hidden results {shown}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Handle ``autograder feedback``."""
    if args.action:
        return set_policy(args)
    course = Course(db_url=args.db)
    paths = write_feedback(course, args.assignment, args.student, args.out)
    where = args.out or course.root / course.coursedir.feedback_directory
    print(f"wrote {len(paths)} feedback report(s) for {args.assignment} under {where}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``feedback`` subcommand."""
    parser = subparsers.add_parser(
        "feedback",
        help="write HTML feedback reports, or release the course server's hidden results",
        description=(
            "Write feedback/<student>/ASSIGNMENT/<notebook>.html for every graded submission: the "
            "notebook's outputs, each check's outcome and message, points per graded cell (manual "
            "grades included) and the total. Hidden checks and hidden tests never appear. "
            "With `release ASSIGNMENT` (or `hold`, or `practice`): show students the hidden checks' "
            "results of their attempts handed in on the course server (`autograder serve`), hold "
            "them back again, or show them at once; --server-db names that server's database."
        ),
    )
    parser.add_argument("action", nargs="?", choices=sorted(POLICIES), default=None,
                        help="release / hold / practice: set the course server's feedback for ASSIGNMENT")
    parser.add_argument("assignment", metavar="ASSIGNMENT", help="assignment name (as in solutions/)")
    parser.add_argument("--student", action="append", metavar="ID", help="only this student (repeatable)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write under DIR/<student>/ASSIGNMENT/ instead")
    parser.add_argument("--server-db", metavar="PATH|URL", default=os.environ.get("LEADERBOARD_DB"),
                        help="the course server's database (default: $LEADERBOARD_DB, else leaderboard.db "
                             "in the course root)")
    add_gradebook_option(parser)
    parser.set_defaults(func=run)
