"""The HTML pages: the Jinja environment of ``templates/`` and rendering one page of the site."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader

from autograder.leaderboard.competition import Settings
from autograder.leaderboard.deadline import deadline_line
from autograder.leaderboard.ladder import FIXED
from autograder.web.site import Site

TEMPLATES = Path(__file__).resolve().parent / "templates"


def score_digits(settings: Settings) -> int:
    """Decimals shown for public scores: enough for the fixed Ladder's step, else 3."""
    if settings.ladder != FIXED:
        return 3
    return max(3, -Decimal(repr(settings.eta)).normalize().as_tuple().exponent)


def make_templates(settings: Settings) -> Environment:
    """The autoescaping environment of the site's templates, with the ``score`` and ``time`` filters."""
    templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    digits = score_digits(settings)
    templates.filters["score"] = lambda value: "" if value is None else f"{value:.{digits}f}"
    templates.globals["digits"] = digits
    templates.filters["time"] = lambda value: "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return templates


def site_of(request: Request) -> Site:
    """The :class:`Site` the app serves."""
    return request.app.state.site


def render_page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    """Template ``name`` with the competition, its deadline and ``context`` (``who``: the visitor)."""
    site = site_of(request)
    who = context.pop("who", None)
    current = site.leaderboard.settings()
    now = site.leaderboard.clock()
    html = site.templates.get_template(name).render(
        request=request, who=who, competition=current, closed=current.is_closed(now),
        deadline=deadline_line(current.closes_at, now), homework=site.handouts is not None, **context
    )
    return HTMLResponse(html, status_code=status)
