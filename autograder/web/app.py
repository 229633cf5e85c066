"""The FastAPI app: :func:`create_app` assembles the routers, the error handlers and the request guard.

Templates autoescape everything, the live board fills its rows with ``textContent``, a strict
Content-Security-Policy allows only this site's own script, and request bodies are capped
before they are parsed (:mod:`.guard`).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from autograder.classroom.handout import CourseHandouts
from autograder.leaderboard.database import database_url
from autograder.leaderboard.handins import DEFAULT_ATTEMPTS_PER_HOUR
from autograder.leaderboard.store import Leaderboard
from autograder.web.errors import install_error_handlers
from autograder.web.guard import RequestGuard
from autograder.web.rendering import make_templates
from autograder.web.routers import (
    board,
    dashboard,
    handin,
    homework,
    instructor,
    session,
    similarity,
    student_api,
    student_pages,
)
from autograder.web.site import Site

STATIC = Path(__file__).resolve().parent / "static"
ROUTERS = (session.router, board.router, student_pages.router, student_api.router, instructor.router)
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the small fields beside the files


def create_app(lb: Leaderboard, refresh_seconds: float = 5.0, rules: Path | None = None,
               handouts: CourseHandouts | None = None, attempts_per_hour: int = DEFAULT_ATTEMPTS_PER_HOUR) -> FastAPI:
    """The FastAPI app serving ``lb``; the board page re-polls every ``refresh_seconds``;
    ``/rules`` shows the Markdown file ``rules`` (default: docs/competition-rules.md of the course).
    With ``handouts`` it is the course server: the released assignments are served too, and
    homework is handed in (at most ``attempts_per_hour`` attempts per student and hour)."""
    app = FastAPI(title="QuickDraw leaderboard", docs_url=None, redoc_url=None, openapi_url=None)
    settings = lb.settings()
    app.state.site = Site(lb, make_templates(settings), refresh_seconds, rules, handouts, attempts_per_hour)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(RequestGuard, limit=settings.max_bytes + settings.max_notebook_bytes + FORM_OVERHEAD)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    if handouts is not None:
        lb.create_homework_tables()
        app.include_router(homework.router)
        app.include_router(handin.router)
        app.include_router(dashboard.router)
        app.include_router(similarity.router)
    return app


def app_from_environment(handouts: CourseHandouts | None = None) -> FastAPI:
    """The app for ``$LEADERBOARD_DB`` (used by ``serve --workers N``: each worker builds its own)."""
    rules = os.environ.get("LEADERBOARD_RULES")
    return create_app(Leaderboard(database_url(os.environ["LEADERBOARD_DB"])),
                      refresh_seconds=float(os.environ.get("LEADERBOARD_REFRESH", "5")),
                      rules=Path(rules) if rules else None, handouts=handouts,
                      attempts_per_hour=int(os.environ.get("AUTOGRADER_ATTEMPTS_PER_HOUR", DEFAULT_ATTEMPTS_PER_HOUR)))


def course_app_from_environment() -> FastAPI:
    """The course server's app: :func:`app_from_environment` with the course at ``$AUTOGRADER_COURSE``
    and its prepared data at ``$AUTOGRADER_DATA``, ``$AUTOGRADER_ATTEMPTS_PER_HOUR`` (set by ``autograder serve``)."""
    handouts = CourseHandouts(Path(os.environ["AUTOGRADER_COURSE"]), Path(os.environ["AUTOGRADER_DATA"]))
    return app_from_environment(handouts)
