"""The instructor's similarity report of an assignment on the course server (never a student's):
the page, its stylesheet and the CSV of every pair, computed from nbgrader's submitted/ folder when
asked. Dolos reads the notebooks' text in a worker thread; no student code runs here."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from autograder.errors import UserError
from autograder.similarity.compare import Comparison
from autograder.similarity.report import CSS, render_csv, render_html
from autograder.similarity.run import DEFAULT_TOP, compare_class
from autograder.web.dependencies import DownloadingInstructor
from autograder.web.rendering import site_of
from autograder.web.routers.homework import released_handout
from autograder.web.site import Site

router = APIRouter()
STYLESHEET = "/instructor/similarity.css"


NotebookChoice = Annotated[str | None, Query(max_length=255, description="the released notebook (default: the first)")]


def class_comparison(site: Site, name: str, notebook: str | None) -> Comparison:
    """Every handed-in copy of one released notebook of ``name`` (default: its first) compared; 404
    for a notebook the assignment does not have, 409 with the reason when it cannot be done."""
    course = site.handouts.course
    try:
        released = course.released_notebooks(name)
        notebook = notebook or next(iter(released))
        if notebook not in released:
            raise HTTPException(404, f"{name} has no notebook {notebook!r}; it has {', '.join(released)}")
        submissions = course.find_submissions(name)
        return compare_class(released[notebook], [s for s in submissions if s.notebook == notebook])
    except UserError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/instructor/assignments/{name}/similarity", response_class=HTMLResponse)
async def similarity_page(request: Request, name: str, who: DownloadingInstructor,
                          top: Annotated[int, Query(ge=1, le=500)] = DEFAULT_TOP, notebook: NotebookChoice = None):
    """The similarity report of ``name``: the closest pairs with their shared fragments, the clusters."""
    site = site_of(request)
    released_handout(site.handouts, name)
    comparison = await run_in_threadpool(class_comparison, site, name, notebook)
    title = name if notebook is None else f"{name}/{notebook}"
    return HTMLResponse(render_html(comparison, title, top, stylesheet=STYLESHEET))


@router.get("/instructor/assignments/{name}/similarity.csv")
async def similarity_csv(request: Request, name: str, who: DownloadingInstructor, notebook: NotebookChoice = None):
    """Every pair of ``name`` (one released notebook of it) with its similarity, as a CSV download."""
    site = site_of(request)
    released_handout(site.handouts, name)
    comparison = await run_in_threadpool(class_comparison, site, name, notebook)
    filename = f"similarity-{name}.csv" if notebook is None else f"similarity-{name}-{notebook}.csv"
    return Response(render_csv(comparison), media_type="text/csv",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


@router.get(STYLESHEET)
def similarity_stylesheet(who: DownloadingInstructor):
    """The report's stylesheet (the site's Content-Security-Policy allows no inline style)."""
    return Response(CSS, media_type="text/css")
