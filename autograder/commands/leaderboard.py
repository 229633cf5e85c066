"""``autograder leaderboard init|add-students|serve|submit|board|verify|close|export``: the parser.

What each action does is in :mod:`autograder.commands.leaderboard_actions`.

Without ``--url`` every command works on the local database (``--db``: a SQLite file or a
SQLAlchemy URL; default ``$LEADERBOARD_DB``, else ``leaderboard.db`` in the course root).
With ``--url`` (or ``$LEADERBOARD_URL``), ``submit`` and ``board`` talk to a running server.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path

from autograder.commands.leaderboard_actions import (
    cmd_add_students,
    cmd_board,
    cmd_close,
    cmd_export,
    cmd_init,
    cmd_serve,
    cmd_submit,
    cmd_verify,
)
from autograder.leaderboard.competition import (
    DEFAULT_DAILY_LIMIT,
    DEFAULT_ETA,
    DEFAULT_LADDER,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_NOTEBOOK_BYTES,
    DEFAULT_MAX_TEAM_SIZE,
    DEFAULT_TOLERANCE,
)
from autograder.leaderboard.ladder import DEFAULT_ALPHA, MODES
from autograder.leaderboard.verify import DEFAULT_CONFIDENCE, DEFAULT_MAX_CODE_BYTES
from autograder.paths import quickdraw_dir

DEFAULT_AUTO_VERIFY_TOP = 10

DESCRIPTION = """\
The QuickDraw competition leaderboard: students submit predictions for the released unlabeled
test images (the public half of the test set); the public board shows Ladder scores (Blum &
Hardt 2015; by default a sequential version of their parameter-free Ladder, which moves only on
improvements beyond a multiple of the standard error that grows with an entrant's tries against
its best). The private half is never released: at close, each entrant's final notebook is re-run
on it in the sandbox, and the private board is revealed. Teams of up to
--max-team-size students share one board entry and one daily quota.

  init          create the competition from the instructor's labels (prints the instructor token)
  add-students  create accounts from a roster CSV or nbgrader's gradebook (prints tokens)
  serve         run the web app (submission page, live board, instructor view, JSON API) and
                verify the entries that enter the top of the board as they get there
  submit        submit a predictions CSV (to the local database, or a server with --url)
  board         print the public (or private) board
  verify        re-run the top entries' notebooks in the sandbox on the never-released verification
                set and mark them (not) reproducible
  close         close the competition, re-run the final notebooks on the never-released private
                half of the test set (their private score) and reveal the private board
  export        write the final standings per student (CSV or JSON)

The database is --db (a SQLite file or a SQLAlchemy URL such as
postgresql://user@host/db), default $LEADERBOARD_DB, else leaderboard.db in the course root."""


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="PATH|URL", default=os.environ.get("LEADERBOARD_DB"),
        help="SQLite file or SQLAlchemy URL of the leaderboard database "
             "(default: $LEADERBOARD_DB, else leaderboard.db in the course root)",
    )


def _url_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", default=os.environ.get("LEADERBOARD_URL"),
        help="a running leaderboard server, e.g. http://127.0.0.1:8000 (default: $LEADERBOARD_URL; "
             "without it the local database is used)",
    )


def _json_arg(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def _when(text: str) -> datetime:
    """Parse an ISO 8601 time; naive times are UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r} (e.g. 2025-12-01T23:59:00Z)") from None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _positive(kind):
    """An argparse type: ``kind`` of the text, which must be positive."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
        return value
    return parse


def _non_negative_int(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _probability(text: str) -> float:
    """An argparse type: a probability strictly between 0 and 1 (the sequential Ladder's alpha)."""
    value = _positive(float)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be below 1: {text!r}")
    return value


def _confidence(text: str) -> float:
    """An argparse type: a confidence level in [0.5, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.5 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0.5 and below 1: {text!r}")
    return value


def register(subparsers) -> None:
    """Add ``leaderboard ...`` to the top-level parser."""
    top = subparsers.add_parser(
        "leaderboard", help="the competition leaderboard: init, students, web app, submit, board, verify",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = top.add_subparsers(dest="leaderboard_command", metavar="ACTION")
    actions.required = True
    data = quickdraw_dir()
    _add_init(actions, data)
    _add_add_students(actions)
    _add_serve(actions, data)
    _add_submit(actions)
    _add_board(actions)
    _add_verify(actions, data)
    _add_close(actions, data)
    _add_export(actions)


def _add_init(actions, data: Path) -> None:
    """Add the ``init`` action: create the competition from the labels."""
    init = actions.add_parser(
        "init", help="create the competition database from the instructor's labels",
        description="Create the competition in the database: the hidden labels (id,label,split with "
                    "split public/private), the classes and the rules. Prints the instructor token once.",
    )
    _db_arg(init)
    init.add_argument("--labels", type=Path, default=data / "instructor" / "competition_labels.csv",
                      help="instructor-only labels CSV (default: data/quickdraw/instructor/competition_labels.csv)")
    init.add_argument("--classes", default=str(data / "competition" / "classes.txt"),
                      help="classes.txt or a comma-separated list (default: data/quickdraw/competition/classes.txt)")
    init.add_argument("--name", default="QuickDraw competition", help="title shown on the pages")
    init.add_argument("--ladder", choices=MODES, default=DEFAULT_LADDER,
                      help="public board mechanism: sequential = the parameter-free Ladder's paired test with a "
                           "critical value that accounts for the entrant's repeated tries against its best (the "
                           "j-th try moves the board only beyond z_j standard errors, z_j = Phi^-1(1 - alpha / "
                           "(2.612 j^1.5)): a false move has probability <= --alpha however many tries); free = "
                           "Blum & Hardt's parameter-free Ladder (beyond one standard error of the paired per-image "
                           "differences; both round scores to that error's precision); fixed = fixed step --eta "
                           f"(default {DEFAULT_LADDER})")
    init.add_argument("--eta", type=_positive(float), default=DEFAULT_ETA,
                      help=f"with --ladder fixed: the public score moves only by beating the best by more than eta, "
                           f"and is rounded to it (default {DEFAULT_ETA})")
    init.add_argument("--alpha", type=_probability, default=DEFAULT_ALPHA,
                      help="with --ladder sequential: the bound on the probability that submissions which are not "
                           "better ever move an entrant's board past its current best; smaller is stricter and "
                           f"needs clearer gains (default {DEFAULT_ALPHA})")
    init.add_argument("--max-team-size", type=_positive(int), default=DEFAULT_MAX_TEAM_SIZE,
                      help=f"largest team allowed in a roster (default {DEFAULT_MAX_TEAM_SIZE})")
    init.add_argument("--daily-limit", type=_positive(int), default=DEFAULT_DAILY_LIMIT,
                      help=f"accepted submissions per entrant per UTC day (default {DEFAULT_DAILY_LIMIT})")
    init.add_argument("--max-bytes", type=_positive(int), default=DEFAULT_MAX_BYTES,
                      help=f"largest predictions file accepted (default {DEFAULT_MAX_BYTES})")
    init.add_argument("--max-notebook-bytes", type=_positive(int), default=DEFAULT_MAX_NOTEBOOK_BYTES,
                      help=f"largest attached notebook accepted (default {DEFAULT_MAX_NOTEBOOK_BYTES})")
    init.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                      help=f"verify: the smallest margin by which the verification-set accuracy may fall short "
                           f"of the board's (the margin for sampling noise is usually larger; "
                           f"default {DEFAULT_TOLERANCE})")
    init.add_argument("--deadline", type=_when, help="close automatically at this time (ISO 8601, UTC if no zone; "
                                                     "`close --at` changes it later)")
    _json_arg(init, "the instructor token and settings")
    init.set_defaults(func=cmd_init)


def _add_add_students(actions) -> None:
    """Add the ``add-students`` action: accounts from a roster or the gradebook."""
    add = actions.add_parser(
        "add-students", help="create student accounts and print their tokens",
        description="Create an account (and a token) for each student of a roster CSV (header: id, and "
                    "optionally display_name, email, team) or, without ROSTER, of nbgrader's gradebook. "
                    "Students already known keep their token unless --reissue. Students with the same "
                    "team share one board entry, daily limit and final selection; a roster with a team "
                    "larger than the competition's --max-team-size is refused. Tokens are printed "
                    "once and stored only as hashes.",
    )
    add.add_argument("roster", nargs="?", type=Path, metavar="ROSTER.csv", help="roster CSV")
    add.add_argument("--gradebook", metavar="PATH|URL",
                     help="nbgrader gradebook to read students from (default: gradebook.db in the course root)")
    add.add_argument("--reissue", action="store_true", help="issue new tokens to students already known")
    _db_arg(add)
    _json_arg(add, '[{"student", "token"}]')
    add.set_defaults(func=cmd_add_students)


def _add_serve(actions, data: Path) -> None:
    """Add the ``serve`` action: the web app, and the automatic verification of the top entries."""
    serve = actions.add_parser(
        "serve", help="run the web app (uvicorn) and verify the top entries as they get there",
        description="Serve the submission page, the live board, the instructor view and the JSON API. "
                    "Beside it, one background thread re-runs the notebook of every pending entry that "
                    "enters the top --auto-verify-top of the public board on the verification set, one "
                    "at a time, as `verify` does; an entry found not "
                    "reproducible leaves the public ranking. Without the verification set or the sandbox, "
                    "serve says so in one line and runs without it (entries stay pending).",
    )
    add_server_options(serve, data)
    serve.set_defaults(func=cmd_serve)


def add_server_options(serve: argparse.ArgumentParser, data: Path) -> None:
    """The options of a web server (``leaderboard serve`` and the course's ``serve``): database, address,
    pages, and the automatic verification of the top entries (its data folders under ``data``)."""
    _db_arg(serve)
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--refresh", type=_positive(float), default=5.0,
                       help="seconds between live board updates (default 5)")
    serve.add_argument("--rules", type=Path, default=None,
                       help="Markdown file shown at /rules and linked from every page "
                            "(default: docs/competition-rules.md in the course root)")
    serve.add_argument("--workers", type=_positive(int), default=1,
                       help="server processes (default 1; more use more cores, all on the same database)")
    serve.add_argument("--auto-verify-top", type=_non_negative_int, default=DEFAULT_AUTO_VERIFY_TOP, metavar="K",
                       help="keep the top K ranks verified: a pending entry that enters them has its notebook "
                            "re-run at once, one run at a time on one core (default "
                            f"{DEFAULT_AUTO_VERIFY_TOP}: the board's first screen, where a student looks; each new "
                            "best that enters it costs one run of about its training time; 0 turns it off)")
    _verification_args(serve, data)


def _add_submit(actions) -> None:
    """Add the ``submit`` action: a predictions CSV, locally or to a server."""
    submit = actions.add_parser(
        "submit", help="submit a predictions CSV",
        description="Submit predictions (CSV: header id,label, one row per test id) as the student "
                    "owning --token, to a server (--url) or the local database. Exit status 1 when "
                    "the file is rejected.",
    )
    submit.add_argument("file", type=Path, metavar="FILE", help="predictions CSV")
    submit.add_argument("--token", default=os.environ.get("LEADERBOARD_TOKEN"),
                        help="your token (default: $LEADERBOARD_TOKEN)")
    submit.add_argument("--notebook", type=Path, help="the notebook that produced the predictions")
    _url_arg(submit)
    _db_arg(submit)
    _json_arg(submit, '{"id", "status", "public_score", "message"}')
    submit.set_defaults(func=cmd_submit)


def _add_board(actions) -> None:
    """Add the ``board`` action: print a board."""
    board = actions.add_parser(
        "board", help="print the public or private board",
        description="Print the board with each entry's verification state (verified, pending, not "
                    "reproducible, no notebook); on the public board only verified and pending entries "
                    "are ranked, the others follow unranked (rank null in JSON). The private board is "
                    "shown by the local database (the instructor's) or, with --url, after closing or with "
                    "the instructor token.",
    )
    board.add_argument("--private", action="store_true", help="the private board (final submissions)")
    board.add_argument("--token", default=os.environ.get("LEADERBOARD_TOKEN"),
                       help="instructor token for the private board on a server before closing")
    _url_arg(board)
    _db_arg(board)
    _json_arg(board, '[{"rank", "student", "score", "submitted_at", "state"}]')
    board.set_defaults(func=cmd_board)


def _verification_args(parser: argparse.ArgumentParser, data: Path) -> None:
    """The options of re-running notebooks on the verification set (``verify`` and ``serve``)."""
    _rerun_args(parser, data)
    parser.add_argument("--verification-dir", type=Path, default=data / "instructor" / "competition_verification",
                        help="the verification set's folder (test.csv + images; default: "
                             "data/quickdraw/instructor/competition_verification)")
    parser.add_argument("--verification-labels", type=Path,
                        help="its id,label file (default: <verification-dir>_labels.csv)")


def _rerun_args(parser: argparse.ArgumentParser, data: Path) -> None:
    """The options of re-running notebooks in the sandbox (``verify``, ``serve`` and ``close``)."""
    parser.add_argument("--confidence", type=_confidence, default=DEFAULT_CONFIDENCE,
                        help=f"one-sided confidence of the noise margin: the share of honest entries accepted "
                             f"(default {DEFAULT_CONFIDENCE})")
    parser.add_argument("--competition-dir", type=Path, default=data / "competition",
                        help="competition data given to the notebooks (default: data/quickdraw/competition)")
    parser.add_argument("--timeout", type=_positive(float), default=1800.0,
                        help="wall-time limit per notebook in seconds (default 1800)")
    parser.add_argument("--max-code-kib", type=_positive(float), default=DEFAULT_MAX_CODE_BYTES / 1024,
                        help=f"notebooks whose code cells hold more are not run: data or weights carried in code "
                             f"are outside the rules (default {DEFAULT_MAX_CODE_BYTES // 1024})")


def _add_verify(actions, data: Path) -> None:
    """Add the ``verify`` action: re-run the top notebooks on the verification set."""
    verify = actions.add_parser(
        "verify", help="re-run the top entries' notebooks on the never-released verification set",
        description="Walk down the public board: re-run each entry's attached "
                    "notebook in the grading sandbox (no network, the course environment's packages only) "
                    "with the competition's training data and, as $QUICKDRAW_COMPETITION_TEST, the "
                    "verification set: as many drawings of the same classes as the test set, drawn with the "
                    "instructor's secret and never released. The entry is verified when its accuracy there "
                    "is at least its board accuracy minus z*sqrt(p(1-p)(1/n_board + 1/n_verification)) "
                    "(p pooled, z for --confidence, one-sided; never less than --tolerance). An entry that "
                    "fails is marked not reproducible and the next one is checked, until --top entries are "
                    "verified.",
    )
    verify.add_argument("--top", type=_positive(int), default=3, help="how many verified entries to find (default 3)")
    verify.add_argument("--tolerance", type=float,
                        help="smallest margin ever used (default: the competition's, see init --tolerance)")
    _verification_args(verify, data)
    verify.add_argument("--force", action="store_true", help="re-run entries verified earlier")
    _db_arg(verify)
    _json_arg(verify, "one outcome per checked entry")
    verify.set_defaults(func=cmd_verify)


def _add_close(actions, data: Path) -> None:
    """Add the ``close`` action: close the competition and score its private half."""
    close = actions.add_parser(
        "close", help="close the competition, re-run the final notebooks on the private half, reveal the private board",
        description="Stop accepting submissions and selections; then re-run each entrant's final submission's "
                    "notebook (its selected one, else its best public one) in the sandbox on the never-released "
                    "private half of the test set, store that accuracy as its private score (verified when it "
                    "agrees with its public score within the noise margin) and show the private board to "
                    "everyone. Entries without a notebook stay unranked there. With --at in the future only the "
                    "closing time is set; run `close` again once it has passed to score the private half.",
    )
    close.add_argument("--at", type=_when, help="close at this time instead of now (ISO 8601)")
    _rerun_args(close, data)
    close.add_argument("--private-dir", type=Path, default=data / "instructor" / "competition_private",
                       help="the private half's folder (test.csv + images; labels in <private-dir>_labels.csv; "
                            "default: data/quickdraw/instructor/competition_private)")
    close.add_argument("--workers", type=_positive(int), default=1,
                       help="notebooks re-run at the same time, one sandbox each (default 1)")
    close.add_argument("--force", action="store_true",
                       help="re-run entries a previous close scored (by default only the unscored ones run)")
    _db_arg(close)
    _json_arg(close, '{"closes_at", "outcomes": [one per entrant]}')
    close.set_defaults(func=cmd_close)


def _add_export(actions) -> None:
    """Add the ``export`` action: final standings per student."""
    export = actions.add_parser(
        "export", help="write the final standings per student",
        description="One row per student: board entry, private rank and accuracy of the final "
                    "submission, Ladder score, number of submissions and reproducibility status.",
    )
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default csv)")
    _db_arg(export)
    export.set_defaults(func=cmd_export)
