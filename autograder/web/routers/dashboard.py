"""The instructor's dashboard of the course server, per assignment: who handed in (on time, late,
not yet), histograms of the points per hidden check (hardest first) and of the totals, a table of
the students linking to their attempts, and the actions: release feedback, regrade all, and the
gradebook's Canvas / CSV export as a download.

Every route is the instructor's alone (403 for a student): the pages by session cookie, the API by
bearer token, the plots and downloads by either. Regrading only moves finished attempts back into
the hand-in queue, which the grading sandbox works through; this process never runs student code.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from autograder.classroom.export import collect, write_canvas, write_nbgrader_csv
from autograder.errors import UserError
from autograder.leaderboard.database import iso
from autograder.leaderboard.progress import Progress, progress
from autograder.web.dependencies import ApiInstructor, DownloadingInstructor, InstructorVisitor, csrf_value
from autograder.web.plots import histogram_svg
from autograder.web.rendering import render_page, site_of
from autograder.web.routers.handin import attempt_for
from autograder.web.routers.homework import released_handout
from autograder.web.site import Site

router = APIRouter()
TOTAL = "total"


def class_progress(site: Site, name: str) -> Progress:
    """The progress of the roster on the released assignment ``name`` (404 if there is none)."""
    released_handout(site.handouts, name)
    lb = site.leaderboard
    return progress(name, lb.student_ids(), lb.all_attempts(name))


def progress_json(found: Progress) -> dict:
    """The dashboard's numbers as JSON."""
    return {"assignment": found.assignment, **found.counts(), "totals": found.totals, "max_score": found.max_score,
            "checks": [{"name": c.name, "max_points": c.max_points, "points": c.points} for c in found.checks],
            "students": [{"student": r.student, "status": r.status, "attempts": r.attempts,
                          "graded": r.graded.id if r.graded else None,
                          "submitted_at": iso(r.graded.created_at) if r.graded else None,
                          "state": r.graded.state if r.graded else None,
                          "score": r.graded.score if r.graded else None} for r in found.rows]}


@router.get("/instructor/assignments/{name}", response_class=HTMLResponse)
def dashboard_page(request: Request, name: str, visitor: InstructorVisitor):
    """The dashboard page of ``name``."""
    site = site_of(request)
    found = class_progress(site, name)
    return render_page(request, "dashboard.html", who=visitor.who, progress=found, counts=found.counts(),
                       policy=site.leaderboard.policy(name), csrf=csrf_value(visitor.token),
                       notebooks=released_notebook_names(site, name))


def released_notebook_names(site: Site, name: str) -> list[str]:
    """The released notebooks of ``name`` (each has its own similarity report); none if not released."""
    try:
        return list(site.handouts.course.released_notebooks(name))
    except UserError:
        return []


@router.get("/api/instructor/assignments/{name}/progress")
def api_progress(request: Request, name: str, who: ApiInstructor):
    """The dashboard's counts, per-check points, totals and students, as JSON."""
    return progress_json(class_progress(site_of(request), name))


@router.get("/instructor/assignments/{name}/plots/{which}.svg")
def plot(request: Request, name: str, which: str, who: DownloadingInstructor):
    """The histogram of the totals (``total``) or of the hidden check at position ``which``."""
    found = class_progress(site_of(request), name)
    if which == TOTAL:
        svg = histogram_svg(f"{name}: total", tuple(found.totals), found.max_score or 0.0)
    elif which.isdigit() and int(which) < len(found.checks):
        check = found.checks[int(which)]
        svg = histogram_svg(check.name, tuple(check.points), check.max_points)
    else:
        raise HTTPException(404, f"no plot {which!r} of {name}")
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=10"})


def regrade(site: Site, name: str) -> dict:
    """Queue every student's finished graded attempt at ``name`` again."""
    released_handout(site.handouts, name)
    return {"assignment": name, "queued": site.leaderboard.regrade_all(name)}


@router.post("/api/instructor/assignments/{name}/regrade")
def api_regrade(request: Request, name: str, who: ApiInstructor):
    """Regrade all: each student's graded attempt back into the queue (none twice); how many."""
    return regrade(site_of(request), name)


@router.post("/instructor/assignments/{name}/regrade")
def page_regrade(request: Request, name: str, visitor: InstructorVisitor, csrf: Annotated[str, Form()] = ""):
    """The page's "regrade all" button."""
    visitor.check_csrf(csrf)
    regrade(site_of(request), name)
    return RedirectResponse(f"/instructor/assignments/{quote(name)}", status_code=303)


@router.post("/instructor/assignments/{name}/feedback")
def page_feedback(request: Request, name: str, visitor: InstructorVisitor, csrf: Annotated[str, Form()] = "",
                  released: Annotated[bool, Form()] = True):
    """The page's "release feedback" (or "hold back") button."""
    visitor.check_csrf(csrf)
    site = site_of(request)
    released_handout(site.handouts, name)
    site.leaderboard.set_policy(name, feedback_released=released)
    return RedirectResponse(f"/instructor/assignments/{quote(name)}", status_code=303)


def export_file(site: Site, name: str, kind: str) -> bytes:
    """The gradebook's export of ``name`` (:mod:`autograder.classroom.export`), as bytes."""
    try:
        names, rows = collect(site.handouts.course, [name])
    except UserError as exc:
        raise HTTPException(404, str(exc)) from None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "grades.csv"
        if kind == "canvas":
            write_canvas(path, names, rows, "zero", {})
        else:
            write_nbgrader_csv(path, rows, "zero")
        return path.read_bytes()


@router.get("/instructor/assignments/{name}/export.csv")
async def export(request: Request, name: str, who: DownloadingInstructor,
                 format: Annotated[Literal["canvas", "csv"], Query()] = "canvas"):  # noqa: A002 - the query's name
    """Download the gradebook's grades of ``name`` as Canvas's CSV or nbgrader's export columns."""
    site = site_of(request)
    released_handout(site.handouts, name)
    data = await run_in_threadpool(export_file, site, name, format)
    filename = f"{name}-{format}.csv"
    return Response(data, media_type="text/csv",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


@router.get("/instructor/attempts/{attempt_id}")
def instructor_attempt(request: Request, attempt_id: int, who: DownloadingInstructor):
    """One attempt with its hidden results, as the dashboard's table links it."""
    return attempt_for(site_of(request), who, attempt_id)
