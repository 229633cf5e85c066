"""``autograder fetch``: a student gets an assignment from the course server (``autograder serve``).

Without NAME it lists the released assignments with their due dates; with NAME it downloads the
notebook into a folder and unzips the data the notebook reads beside it, ready for JupyterLab.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from autograder.classroom.course_client import CourseClient
from autograder.errors import UserError


def run(args: argparse.Namespace) -> int:
    """Handle ``autograder fetch``."""
    if not args.url:
        raise UserError("give the course server's address with --url or $LEADERBOARD_URL")
    if not args.token:
        raise UserError("give your token with --token or $LEADERBOARD_TOKEN")
    client = CourseClient(args.url, args.token)
    try:
        if args.name is None:
            listing = client.assignments()
            print(json.dumps(listing, indent=2) if args.json else _table(listing))
            return 0
        fetched = client.fetch(args.name, args.into or Path(args.name), overwrite=args.force)
    finally:
        client.close()
    if args.json:
        print(json.dumps({"folder": str(fetched.folder), "notebooks": fetched.notebooks,
                          "data_files": len(fetched.data_files), "due": fetched.due}, indent=2))
    else:
        due = f"due {fetched.due}" if fetched.due else "no due date"
        print(f"{args.name}: {', '.join(fetched.notebooks)} and {len(fetched.data_files)} data file(s) in "
              f"{fetched.folder} ({due}); open it with `jupyter lab {fetched.folder}`")
    return 0


def _table(listing: list[dict]) -> str:
    if not listing:
        return "no assignment has been released yet"
    width = max(len(item["name"]) for item in listing)
    return "\n".join(f"{item['name']:<{width}}  {'due ' + item['due'] if item['due'] else 'no due date'}"
                     for item in listing)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fetch`` subcommand."""
    parser = subparsers.add_parser(
        "fetch", help="get an assignment from the course server (students)",
        description="List the assignments released on the course server (`autograder serve`) with their due "
                    "dates or, given NAME, download its notebook into a folder and unzip the data it reads "
                    "beside it. A notebook already there (your work) is kept unless --force.",
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="the assignment (without it: list them)")
    parser.add_argument("--url", default=os.environ.get("LEADERBOARD_URL"),
                        help="the course server, e.g. http://127.0.0.1:8000 (default: $LEADERBOARD_URL)")
    parser.add_argument("--token", default=os.environ.get("LEADERBOARD_TOKEN"),
                        help="your token (default: $LEADERBOARD_TOKEN)")
    parser.add_argument("--into", type=Path, metavar="DIR", help="folder to write into (default: ./NAME)")
    parser.add_argument("--force", action="store_true", help="replace a notebook already in the folder")
    parser.add_argument("--json", action="store_true", help="print the listing or the result as JSON")
    parser.set_defaults(func=run)
