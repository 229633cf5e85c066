"""``autograder release``: make the student version of assignments (solutions/ -> assignments/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder import paths
from autograder.classroom.release import release_assignment, source_assignments
from autograder.config import load_course_config
from autograder.errors import UserError


def run(args: argparse.Namespace) -> int:
    """Handle ``autograder release``."""
    root = paths.course_root()
    if args.all:
        names = source_assignments(root, load_course_config(root))
        if not names:
            raise UserError(f"no assignments found in {root / 'solutions'}")
    elif args.names:
        names = args.names
    else:
        raise UserError("name the assignments to release, or pass --all")
    for name in names:
        target = release_assignment(name, root=root, out_dir=args.out)
        notebooks = sorted(p.name for p in target.glob("*.ipynb"))
        print(f"released {name}: {target} ({', '.join(notebooks)})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``release`` subcommand."""
    parser = subparsers.add_parser(
        "release",
        help="make the student version of assignments (solutions/ -> assignments/)",
        description=(
            "Run nbgrader's generate-assignment step on solutions/NAME/: solution code is "
            "replaced by stubs, hidden tests are removed, instructions are locked, and the "
            "result is written to assignments/NAME/."
        ),
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="assignment folder in solutions/")
    parser.add_argument("--all", action="store_true", help="release every assignment in solutions/")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write the released folders here instead of assignments/ (e.g. to compare)",
    )
    parser.set_defaults(func=run)
