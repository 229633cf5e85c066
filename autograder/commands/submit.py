"""``autograder submit``: a student hands a notebook in to the course server (``autograder serve``)
and reads the same result as the attempt's page: the notebook's own tests as they ran in the
sandbox, the cells' errors, the run time and, once the instructor released them, the hidden checks.
Exit status 1 when the server refuses the notebook (nothing was stored).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from autograder.classroom.course_client import CourseClient
from autograder.errors import UserError


def run(args: argparse.Namespace) -> int:
    """Handle ``autograder submit``."""
    if not args.url:
        raise UserError("give the course server's address with --url or $LEADERBOARD_URL")
    if not args.token:
        raise UserError("give your token with --token or $LEADERBOARD_TOKEN")
    if not args.notebook.is_file():
        raise UserError(f"no such file: {args.notebook}")
    client = CourseClient(args.url, args.token)
    try:
        accepted, reply = client.hand_in(args.assignment, args.notebook)
        if accepted and not args.no_wait:
            reply = client.wait_for(reply["id"], args.timeout)
    finally:
        client.close()
    if args.json:
        print(json.dumps({"accepted": accepted, **reply}, indent=2))
    else:
        print(describe(reply) if accepted else f"rejected: {reply['detail']}")
    return 0 if accepted else 1


def describe(attempt: dict) -> str:
    """An attempt in plain text, as its page shows it."""
    late = " (late)" if attempt["late"] else ""
    lines = [f"attempt {attempt['id']} at {attempt['assignment']}, handed in {attempt['submitted_at']}{late}: "
             f"{attempt['state']}"]
    visible = attempt.get("visible")
    if visible:
        if visible.get("error"):
            lines.append(f"  could not run: {visible['error']}")
        lines.append(f"  the notebook ran for {visible['seconds']} s; its own tests:")
        lines += [f"    {'passed' if t['passed'] else 'FAILED'}  {t['cell']}" + _reason(t["error"])
                  for t in visible["tests"]]
        lines += [f"  error in cell {e['index']}{' (' + e['cell'] + ')' if e['cell'] else ''}: {e['error']}"
                  for e in visible["cell_errors"]]
    hidden = attempt.get("hidden")
    if hidden:
        lines.append(f"  hidden checks: {hidden['score']:g} / {hidden['max_score']:g} points")
        lines += [f"    {c['points']:g}/{c['max_points']:g}  {c['name']}" + _reason(c["message"])
                  for c in hidden["checks"]]
    elif attempt["state"] in ("done", "failed"):
        lines.append(f"  hidden checks: {attempt['hidden_status']}")
    return "\n".join(lines)


def _reason(text: str | None) -> str:
    return f": {text}" if text else ""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``submit`` subcommand."""
    parser = subparsers.add_parser(
        "submit", help="hand a notebook in to the course server and print its result (students)",
        description="Hand NOTEBOOK in for ASSIGNMENT on the course server (`autograder serve`), wait until it "
                    "has been graded in the sandbox and print the result: the notebook's own tests, cell errors, "
                    "run time and, once the instructor released them, the hidden checks. Exit status 1 when the "
                    "notebook is refused (nothing is stored then).",
    )
    parser.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment, e.g. xor")
    parser.add_argument("notebook", type=Path, metavar="NOTEBOOK", help="your notebook, e.g. xor/xor.ipynb")
    parser.add_argument("--url", default=os.environ.get("LEADERBOARD_URL"),
                        help="the course server, e.g. http://127.0.0.1:8000 (default: $LEADERBOARD_URL)")
    parser.add_argument("--token", default=os.environ.get("LEADERBOARD_TOKEN"),
                        help="your token (default: $LEADERBOARD_TOKEN)")
    parser.add_argument("--no-wait", action="store_true", help="print the queued attempt and return at once")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                        help="stop waiting for the result after this long (default 600)")
    parser.add_argument("--json", action="store_true", help="print the attempt as JSON")
    parser.set_defaults(func=run)
