"""``autograder similarity``: which students' notebooks of an assignment look copied from each other."""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder import paths
from autograder.classroom.course import Course
from autograder.errors import UserError
from autograder.grading.submissions import find_submissions
from autograder.similarity.report import write_report
from autograder.similarity.run import DEFAULT_MIN_FRAGMENT, DEFAULT_TOP, compare_class


def run(args: argparse.Namespace) -> int:
    """Handle ``autograder similarity``."""
    if args.top < 1 or args.min_fragment < 1:
        raise UserError("--top and --min-fragment must be at least 1")
    root = paths.course_root()
    released = Course(root).released_notebooks(args.assignment)
    submissions = find_submissions(args.assignment, args.paths, root)
    for notebook, path in released.items():
        mine = [s for s in submissions if s.notebook == notebook]
        if not mine and len(released) > 1:
            continue
        comparison = compare_class(path, mine, args.top, args.min_fragment, progress=True)
        name = args.assignment if len(released) == 1 else f"{args.assignment}-{notebook}"
        html, table = write_report(comparison, name, args.out, args.top)
        print(f"{notebook}: {len(comparison.works)} notebooks, {len(comparison.pairs)} pairs, "
              f"{len(comparison.clusters)} clusters of 3+, {len(comparison.blank)} with nothing of their own")
        for rank, pair in enumerate(comparison.pairs[:min(args.top, 5)], 1):
            print(f"  {rank}. {pair.left} - {pair.right}: longest fragment {pair.longest}, "
                  f"similarity {pair.similarity:.0%}")
        print(f"wrote {html} and {table}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``similarity`` subcommand."""
    parser = subparsers.add_parser(
        "similarity",
        help="a report of the submissions that look copied from each other (instructor only)",
        description=(
            "Compare what the students wrote in ASSIGNMENT (the code of the solution cells and the text "
            "of the written answers, without the released notebook's own text) with Dolos, and write an "
            "HTML report (the closest pairs with their shared fragments side by side, clusters of three "
            "or more) and a CSV of every pair. Dolos is installed by `make similarity-engine`."
        ),
    )
    parser.add_argument("assignment", metavar="ASSIGNMENT", help="the released assignment's name")
    parser.add_argument("paths", nargs="*", type=Path, metavar="NOTEBOOK_OR_DIR",
                        help="notebooks or folders to compare (default: nbgrader's submitted/ folder)")
    parser.add_argument("--out", type=Path, default=Path("similarity"), metavar="DIR",
                        help="where to write similarity-ASSIGNMENT.html and .csv (default ./similarity)")
    parser.add_argument("--top", type=int, default=DEFAULT_TOP, metavar="N",
                        help=f"pairs shown with their fragments in the HTML (default {DEFAULT_TOP}); the CSV has all")
    parser.add_argument("--min-fragment", type=int, default=DEFAULT_MIN_FRAGMENT, metavar="K",
                        help="pairs sharing a fragment of at least K k-grams join a cluster "
                             f"(default {DEFAULT_MIN_FRAGMENT})")
    parser.set_defaults(func=run)
