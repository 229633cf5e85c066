"""``autograder serve``: the course server, one site for the homework and the competition.

The same app as ``autograder leaderboard serve`` (the same roster, the same per-student tokens,
the competition's pages and API), plus the homework part: every assignment released in the
course folder (``--course``) with its due date from nbgrader's gradebook, its notebook and the zip
of the prepared data it reads (``--data``).
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from pathlib import Path

from autograder import paths
from autograder.classroom.dask_runner import dask_pools
from autograder.classroom.grade_class import worker_pool
from autograder.classroom.handin_grader import HandinGrader
from autograder.classroom.handout import CourseHandouts
from autograder.commands.leaderboard import add_server_options
from autograder.commands.leaderboard_actions import serve_app
from autograder.leaderboard.handins import DEFAULT_ATTEMPTS_PER_HOUR
from autograder.paths import quickdraw_dir

RULES = Path("docs") / "competition-rules.md"  # the course folder's competition rules, shown at /rules

DESCRIPTION = """\
Serve the course: students log in with the token `autograder leaderboard add-students` gave
them, see every released assignment (assignments/<name>/) with its due date (nbgrader's
gradebook: `nbgrader db assignment add NAME --duedate=...`), download its notebook and a zip of
exactly the data it reads, and take part in the competition (the live board, submissions, the
JSON API) as with `autograder leaderboard serve`. Students hand notebooks in (the page's form or
POST /api/assignments/NAME/attempts); each accepted attempt is graded once in the sandbox by
--graders processes started beside the server (or on the Dask cluster at --scheduler), and its
page shows the notebook's own tests as they ran; the hidden checks' results wait for PUT
/api/instructor/assignments/NAME/feedback {"released": true} (or {"practice": true}: shown at once).

The competition database is --db (a SQLite file or a SQLAlchemy URL such as
postgresql://user@host/db), default $LEADERBOARD_DB, else leaderboard.db in the course folder."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve", help="run the course server: released assignments, their data, and the competition",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_server_options(parser, quickdraw_dir())
    parser.add_argument("--course", type=Path, metavar="DIR", default=None,
                        help="the course folder, holding nbgrader_config.py (default: $COURSE_ROOT, else the "
                             "folder above the current one that holds nbgrader_config.py)")
    parser.add_argument("--data", type=Path, metavar="DIR", default=None,
                        help="the prepared QuickDraw root holding homework/ and competition/ "
                             "(default: data/quickdraw in the course folder)")
    parser.add_argument("--attempts-per-hour", type=_positive_int, default=DEFAULT_ATTEMPTS_PER_HOUR, metavar="N",
                        help="homework attempts a student may hand in per hour, all assignments together "
                             f"(default {DEFAULT_ATTEMPTS_PER_HOUR}); one waits in the queue at a time")
    parser.add_argument("--graders", type=_positive_int, default=1, metavar="N",
                        help="grading processes running handed-in attempts, each in its own sandbox (default 1); "
                             "with --scheduler, the attempts graded on the cluster at once")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                        help="grade handed-in attempts on this Dask cluster (the same task as `autograder grade "
                             "--scheduler`) instead of local processes")
    parser.set_defaults(func=run)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def grading_in_background(course: Path, data: Path, graders: int, scheduler: str | None = None):
    """What ``serve`` starts beside the web server: the grader of handed-in attempts, in its own
    processes or on the Dask cluster at ``scheduler`` (the web server never runs student code);
    returns the function that stops it."""
    pools = dask_pools(scheduler) if scheduler else worker_pool

    def start(lb) -> Callable[[], None]:
        lb.create_homework_tables()
        grader = HandinGrader(lb, course, data, workers=graders, report=functools.partial(print, flush=True),
                              pools=pools)
        return grader.start().stop

    return start


def run(args: argparse.Namespace) -> int:
    """Handle ``autograder serve``: check what will be handed out, then serve it."""
    course = (args.course or paths.course_root()).resolve()
    data = (args.data or course / "data" / "quickdraw").resolve()
    if args.db is None:
        args.db = str(course / "leaderboard.db")
    if args.rules is None and (course / RULES).is_file():
        args.rules = course / RULES
    handouts = CourseHandouts(course, data)  # a clean error when the folder is not a course
    released = handouts.check()  # ... or when an assignment's data is not prepared
    handouts.close()
    what = f"Course server handing out {', '.join(h.name for h in released) or 'no assignment yet'}"
    environment = {"AUTOGRADER_COURSE": str(course), "AUTOGRADER_DATA": str(data),  # read by each worker's app
                   "AUTOGRADER_ATTEMPTS_PER_HOUR": str(args.attempts_per_hour)}
    return serve_app(args, "autograder.web.app:course_app_from_environment", what, environment,
                     background=grading_in_background(course, data, args.graders, args.scheduler))
