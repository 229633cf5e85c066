"""``autograder export``: the gradebook as a Canvas gradebook CSV or nbgrader's CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.classroom.course import Course
from autograder.classroom.export import collect, parse_canvas_ids, write_canvas, write_nbgrader_csv
from autograder.commands.options import add_gradebook_option
from autograder.errors import UserError


def run(args: argparse.Namespace) -> int:
    """Handle ``autograder export``."""
    course = Course(db_url=args.db)
    names, rows = collect(course, args.assignment)
    if not names:
        raise UserError("the gradebook has no assignments yet: grade something first")
    if args.format == "canvas":
        count = write_canvas(args.out, names, rows, args.missing, parse_canvas_ids(args.canvas_id))
    else:
        if args.canvas_id:
            raise UserError("--canvas-id only applies to --format canvas")
        count = write_nbgrader_csv(args.out, rows, args.missing)
    print(f"wrote {args.format} grades of {count} students x {len(names)} assignments to {args.out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="export the gradebook for an LMS (Canvas gradebook CSV, or nbgrader's CSV)",
        description=(
            "Write every roster student's score in every assignment (automatic and manual grades, "
            "after late penalties) from the nbgrader gradebook: a Canvas gradebook CSV to import "
            "as is, or the CSV of `nbgrader export`."
        ),
    )
    parser.add_argument("--format", choices=["canvas", "csv"], default="canvas", help="file format (default canvas)")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE", help="the file to write")
    parser.add_argument("--missing", choices=["zero", "blank"], default="zero",
                        help="a student who submitted nothing gets 0 (default) or an empty cell")
    parser.add_argument("--assignment", action="append", metavar="NAME", help="only this assignment (repeatable)")
    parser.add_argument("--canvas-id", action="append", metavar="NAME=ID",
                        help="the Canvas assignment id of NAME, so the import updates that assignment")
    add_gradebook_option(parser)
    parser.set_defaults(func=run)
