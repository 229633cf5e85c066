"""What the ``autograder leaderboard`` actions do (the parser is :mod:`autograder.commands.leaderboard`).

Without ``--url`` every action works on the local database (``--db``: a SQLite file or a
SQLAlchemy URL; default ``$LEADERBOARD_DB``, else ``leaderboard.db`` in the course root).
With ``--url`` (or ``$LEADERBOARD_URL``), ``submit`` and ``board`` talk to a running server.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from autograder.errors import UserError
from autograder.leaderboard import roster as roster_io
from autograder.leaderboard.autoverify import AutoVerifier
from autograder.leaderboard.client import ApiClient
from autograder.leaderboard.database import database_url, iso, sqlite_file, utcnow
from autograder.leaderboard.deadline import deadline_line, parse_utc
from autograder.leaderboard.errors import SubmissionRejected
from autograder.leaderboard.private_rerun import PRIVATE_HALF, score_private_half
from autograder.leaderboard.scoring import read_answer_key, read_classes
from autograder.leaderboard.store import Leaderboard
from autograder.leaderboard.verify import Check, SwapSet, read_swap_set, sandbox_runner, verify_top
from autograder.paths import course_root


def open_leaderboard(args, create: bool = False) -> Leaderboard:
    """The local database named by --db (or the default); it must hold a competition unless
    ``create``."""
    url = database_url(args.db)
    path = sqlite_file(url)
    if not create and path is not None and not path.is_file():
        raise UserError(f"no leaderboard database at {path}; run `autograder leaderboard init` or pass --db")
    lb = Leaderboard(url)
    try:
        if not create:
            lb.settings()  # a clean error when the database holds no competition
    except DatabaseError as exc:  # a server that cannot be reached, a file that is no database
        lb.dispose()
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise UserError(f"cannot open the leaderboard database {make_url(url).render_as_string()}: {reason}") from None
    return lb


def _print_json(value) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


def cmd_init(args) -> int:
    """Handle ``leaderboard init``."""
    classes = read_classes(args.classes)
    key = read_answer_key(args.labels, classes)
    lb = open_leaderboard(args, create=True)
    token = lb.initialize(
        key, name=args.name, ladder=args.ladder, eta=args.eta, alpha=args.alpha,
        max_team_size=args.max_team_size,
        daily_limit=args.daily_limit, max_bytes=args.max_bytes,
        max_notebook_bytes=args.max_notebook_bytes, tolerance=args.tolerance, closes_at=args.deadline,
    )
    settings = lb.settings()
    if args.json:
        _print_json({"db": lb.url, "instructor_token": token, "n_test": settings.n_test,
                     "n_public": settings.n_public, "classes": list(classes), "ladder": settings.ladder,
                     "eta": settings.eta, "alpha": settings.alpha, "max_team_size": settings.max_team_size,
                     "daily_limit": settings.daily_limit, "closes_at": iso(settings.closes_at)})
    else:
        ladder = settings.ladder_title()
        print(f"Competition created in {lb.url}: {settings.n_test} test images ({settings.n_public} public), "
              f"{len(classes)} classes, {ladder}, {settings.daily_limit} submissions/day, "
              f"teams of up to {settings.max_team_size}. {deadline_line(settings.closes_at, lb.clock())}")
        print(f"Instructor token (shown once, keep it secret): {token}")
    return 0


def cmd_add_students(args) -> int:
    """Handle ``leaderboard add-students``."""
    if args.roster is not None:
        entries = roster_io.read_roster_csv(args.roster)
    else:
        entries = roster_io.read_gradebook(args.gradebook or str(course_root() / "gradebook.db"))
    lb = open_leaderboard(args)
    roster_io.check_team_sizes(entries, lb.settings().max_team_size, str(args.roster or "the gradebook"))
    issued = lb.add_students(entries, reissue=args.reissue)
    skipped = len(entries) - len(issued)
    if args.json:
        _print_json([{"student": student, "token": token} for student, token in issued])
    else:
        for student, token in issued:
            print(f"{student}\t{token}")
    if skipped:
        print(f"{skipped} student(s) already had a token (use --reissue for new ones)", file=sys.stderr)
    return 0


def cmd_serve(args) -> int:
    """Handle ``leaderboard serve``: uvicorn, one app per worker process."""
    return serve_app(args, "autograder.web.app:app_from_environment", "Leaderboard")


def serve_app(args, factory: str, what: str, environment: dict[str, str] | None = None,
              background: Callable[[Leaderboard], Callable[[], None]] | None = None) -> int:
    """Run the app that ``factory`` (``module:function``) builds from the environment, which is set
    here from the server options (:func:`~autograder.commands.leaderboard.add_server_options`) and
    ``environment``, once the database opened; and in this process the one thread that verifies
    the top entries (so that runs never overlap, whatever --workers) and what ``background(lb)``
    starts (it returns the function that stops it)."""
    lb = open_leaderboard(args)  # fails cleanly here when there is no competition
    if args.rules is not None and not args.rules.is_file():
        raise UserError(f"no rules file {args.rules}")
    stops = []
    verifier = _auto_verifier(args, lb)
    if verifier is not None:
        stops.append(functools.partial(_stop_verifier, verifier))
    if background is not None:
        stops.append(background(lb))
    if not stops:
        lb.dispose()
    os.environ.update(environment or {})
    os.environ["LEADERBOARD_DB"] = lb.url  # each worker process builds its app from these
    os.environ["LEADERBOARD_REFRESH"] = str(args.refresh)
    if args.rules is not None:
        os.environ["LEADERBOARD_RULES"] = str(args.rules.resolve())
    print(f"{what} at http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    if not stops:
        _run_uvicorn(args, factory)
        return 0
    # uvicorn shuts down gracefully on SIGTERM, then raises it again: leave through the finally below
    previous = signal.signal(signal.SIGTERM, _leave_on_sigterm)
    try:
        _run_uvicorn(args, factory)
    finally:
        signal.signal(signal.SIGTERM, previous)
        for stop in stops:
            stop()
        lb.dispose()
    return 0


def _stop_verifier(verifier: AutoVerifier) -> None:
    if not verifier.stop():
        print("auto-verify: stopped during a run; that entry stays pending until the next start", flush=True)


def _run_uvicorn(args, factory: str) -> None:
    uvicorn.run(factory, factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning", access_log=False)


def _leave_on_sigterm(signum, frame) -> None:
    """SIGTERM: exit (status 0) through the callers' ``finally`` blocks instead of dying at once."""
    raise SystemExit(0)


def _auto_verifier(args, lb: Leaderboard) -> AutoVerifier | None:
    """The started background verifier of ``serve``; None when turned off, or after one line saying
    why it cannot run here (no verification set or competition data, no sandbox)."""
    if args.auto_verify_top == 0:
        return None
    try:
        competition_dir, swap = _competition_dir(args), _swap_set(args, lb)
        runner = sandbox_runner(timeout=args.timeout)
    except UserError as exc:
        print(f"auto-verification is off: {exc}", flush=True)
        return None
    check = Check(runner, competition_dir, swap, confidence=args.confidence,
                  tolerance=lb.settings().tolerance, max_code_bytes=int(args.max_code_kib * 1024))
    print(f"auto-verification: the top {args.auto_verify_top} entries, on {swap.folder}", flush=True)
    return AutoVerifier(lb, args.auto_verify_top, check, poll_seconds=args.refresh,
                        report=functools.partial(print, flush=True)).start()


def _competition_dir(args) -> Path:
    """The competition folder given to re-run notebooks (--competition-dir); a one-line error if absent."""
    if not (args.competition_dir / "train.csv").is_file():
        raise UserError(f"no competition data at {args.competition_dir} (run `autograder data quickdraw prepare "
                        "competition` or pass --competition-dir)")
    return args.competition_dir.resolve()


def _swap_set(args, lb: Leaderboard) -> SwapSet:
    """The verification set named by --verification-dir and --verification-labels."""
    return _instructor_set(lb, args.verification_dir, args.verification_labels)


def _instructor_set(lb: Leaderboard, folder: Path, labels: Path | None = None,
                    name: str = "verification set") -> SwapSet:
    """An instructor-only test folder and its labels (default: ``<folder>_labels.csv`` beside it)."""
    folder = folder.resolve()
    labels = labels or folder.with_name(folder.name + "_labels.csv")
    return read_swap_set(folder, labels, lb.answer_key().n_classes, name)


def _require_token(args) -> str:
    if not args.token:
        raise UserError("give your token with --token or $LEADERBOARD_TOKEN")
    return args.token


def cmd_submit(args) -> int:
    """Handle ``leaderboard submit``; exit status 1 when the file is rejected."""
    token = _require_token(args)
    for path in (args.file, args.notebook):
        if path is not None and not path.is_file():
            raise UserError(f"no such file: {path}")
    if args.url:
        client = ApiClient(args.url, token)
        try:
            status, result = client.submit(args.file, args.notebook)
            closes_at = None if args.json else parse_utc(client.competition().get("closes_at"))
        finally:
            client.close()
        if status == 401:
            raise UserError(result.get("message", "unknown token"))
    else:
        lb = open_leaderboard(args)
        closes_at = lb.settings().closes_at
        who = lb.authenticate(token)
        if who is None or who.is_instructor:
            raise UserError("unknown student token")
        notebook = args.notebook.read_bytes() if args.notebook else None
        try:
            outcome = lb.submit(who, args.file.read_bytes(), args.file.name, notebook,
                                args.notebook.name if args.notebook else None)
        except SubmissionRejected as exc:
            result = {"id": None, "status": "rejected", "public_score": None, "message": str(exc)}
        else:
            result = {"id": outcome.id, "status": "accepted", "public_score": outcome.public_score,
                      "message": outcome.message}
    result = {name: result.get(name) for name in ("id", "status", "public_score", "message")}
    if args.json:
        _print_json(result)
    elif result["status"] == "accepted":
        print(f"accepted (submission {result['id']}): {result['message']}")
    else:
        print(f"rejected: {result['message']}")
    if not args.json:
        print(deadline_line(closes_at, utcnow()))
    return 0 if result["status"] == "accepted" else 1


def cmd_board(args) -> int:
    """Handle ``leaderboard board``."""
    if args.url:
        client = ApiClient(args.url, args.token)
        try:
            rows = client.board(args.private)
            closes_at = None if args.json else parse_utc(client.competition().get("closes_at"))
        finally:
            client.close()
    else:
        lb = open_leaderboard(args)
        rows = [row.as_json() for row in lb.standings(private=args.private)]
        closes_at = lb.settings().closes_at
    if args.json:
        _print_json(rows)
        return 0
    print(deadline_line(closes_at, utcnow()))
    if not rows:
        print("No submissions yet.")
        return 0
    width = max(len(row["student"]) for row in rows)
    print(f"{'rank':>4}  {'entrant':<{width}}  {'score':>7}  {'verification':<16}  submitted (UTC)")
    for row in rows:
        score = f"{row['score']:.4f}" if args.private else f"{row['score']:.3f}"
        rank = "-" if row["rank"] is None else row["rank"]
        print(f"{rank:>4}  {row['student']:<{width}}  {score:>7}  {row.get('state', ''):<16}  {row['submitted_at']}")
    if any(row["rank"] is None for row in rows):
        print("Unranked (-): not reproducible or no notebook; only entries whose notebook can be re-run take a rank.")
    return 0


def cmd_verify(args) -> int:
    """Handle ``leaderboard verify``."""
    competition_dir = _competition_dir(args)
    lb = open_leaderboard(args)
    swap = _swap_set(args, lb)
    outcomes = verify_top(lb, args.top, sandbox_runner(timeout=args.timeout), competition_dir, swap,
                          confidence=args.confidence, tolerance=args.tolerance, force=args.force,
                          max_code_bytes=int(args.max_code_kib * 1024))
    if args.json:
        _print_json([outcome.as_json() for outcome in outcomes])
    else:
        for outcome in outcomes:
            print(f"#{outcome.rank} {outcome.student} (submission {outcome.submission_id}): "
                  f"{outcome.status} - {outcome.detail}")
        if not outcomes:
            print("No entries to verify.")
    return 0


def cmd_close(args) -> int:
    """Handle ``leaderboard close``: close (unless closed already) and score the private half."""
    lb = open_leaderboard(args)
    if args.at is not None and args.at > lb.clock():
        moment = lb.close(args.at)
        print(f"The competition closes at {iso(moment)}; run `autograder leaderboard close` after that to "
              "re-run the final notebooks on the private half.")
        return 0
    private = _instructor_set(lb, args.private_dir, name=PRIVATE_HALF)  # read, and the sandbox checked, before closing
    check = Check(sandbox_runner(timeout=args.timeout), _competition_dir(args), private, confidence=args.confidence,
                  tolerance=lb.settings().tolerance, max_code_bytes=int(args.max_code_kib * 1024))
    moment = lb.close(args.at) if args.at is not None or not lb.is_closed() else lb.settings().closes_at
    outcomes = score_private_half(lb, check, workers=args.workers, force=args.force, progress=not args.json)
    if args.json:
        _print_json({"closes_at": iso(moment), "outcomes": [outcome.as_json() for outcome in outcomes]})
        return 0
    for outcome in outcomes:
        rank = "unranked" if outcome.rank is None else f"#{outcome.rank}"
        print(f"{rank} {outcome.student} (submission {outcome.submission_id}): {outcome.status} - {outcome.detail}")
    print(f"Competition closed at {iso(moment)}; the private board is now visible.")
    return 0


def _cell(value):
    """Neutralise a spreadsheet formula in a (student-chosen) text cell."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def cmd_export(args) -> int:
    """Handle ``leaderboard export``."""
    lb = open_leaderboard(args)
    ranks = {row.entrant_id: row.rank for row in lb.board(private=True)}
    rows = [
        {"student": stats["student"], "entrant": stats["entrant"], "team": stats["team"],
         "private_rank": ranks.get(stats["entrant_id"]), "private_accuracy": stats["final_private_accuracy"],
         "public_score": stats["public_score"], "final_submission": stats["final_submission"],
         "submissions": stats["submissions"], "verify_status": stats["verify_status"],
         "private_status": stats["private_status"]}
        for stats in lb.student_stats()
    ]
    if args.format == "json":
        text = json.dumps(rows, indent=2) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["student"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: _cell(value) for key, value in row.items()} for row in rows)
        text = buffer.getvalue()
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {len(rows)} students to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
