"""The homework part of the course server: the released assignments with their due dates, the
released notebooks and the zip of the data each notebook reads, as a page and as JSON.

Every route needs a student's (or the instructor's) token; an assignment or file that was not
released is a 404 whatever its spelling, since names are only ever looked up among the released
ones, never joined to a path.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from autograder.classroom.handout import CourseHandouts, Handout
from autograder.errors import UserError
from autograder.leaderboard.database import iso
from autograder.leaderboard.errors import NotFound
from autograder.web.dependencies import AnyVisitor, ApiUser, DownloadingUser, csrf_value
from autograder.web.errors import Redirect
from autograder.web.rendering import render_page, site_of

router = APIRouter()
ZIP = "data.zip"


async def course_handouts(request: Request) -> CourseHandouts:
    """The released assignments the course server hands out."""
    return site_of(request).handouts


HandoutsDep = Annotated[CourseHandouts, Depends(course_handouts)]


def released_handout(handouts: CourseHandouts, name: str) -> Handout:
    """The released assignment ``name``; ``NotFound`` (404) when there is none of that name."""
    handout = handouts.find(name)
    if handout is None:
        raise NotFound(f"no released assignment {name!r}")
    return handout


def attachment(filename: str) -> str:
    """A Content-Disposition saving the body as ``filename`` (RFC 6266; percent-encoded unless plain)."""
    quoted = quote(filename)
    return f'attachment; filename="{filename}"' if quoted == filename else f"attachment; filename*=utf-8''{quoted}"


def _as_json(handout: Handout) -> dict:
    base = f"/assignments/{handout.name}"
    data = {"url": f"{base}/{ZIP}", "filename": handout.zip_name} if handout.reads_data else None
    return {"name": handout.name, "due": iso(handout.due),
            "notebooks": [{"name": name, "url": f"{base}/{name}"} for name in handout.notebooks], "data": data}


@router.get("/assignments", response_class=HTMLResponse)
def assignments_page(request: Request, visitor: AnyVisitor, handouts: HandoutsDep):
    """The released assignments with their due dates and download links (log in first)."""
    if visitor.who is None:
        raise Redirect("/login")
    csrf = csrf_value(visitor.token) if visitor.is_student else None
    return render_page(request, "assignments.html", who=visitor.who, handouts=handouts.released(), csrf=csrf)


@router.get("/api/assignments")
def assignments(who: ApiUser, handouts: HandoutsDep):
    """Every released assignment: name, due date (ISO 8601 UTC or null), notebook and data URLs."""
    return [_as_json(handout) for handout in handouts.released()]


@router.get("/api/assignments/{name}")
def assignment(name: str, who: ApiUser, handouts: HandoutsDep):
    """One released assignment (404 if there is none of that name)."""
    return _as_json(released_handout(handouts, name))


@router.get(f"/assignments/{{name}}/{ZIP}")
async def data_zip(name: str, who: DownloadingUser, handouts: HandoutsDep):
    """The zip of exactly the data the assignment's notebook reads; unzip it beside the notebook."""
    handout = await run_in_threadpool(released_handout, handouts, name)
    if not handout.reads_data:
        raise NotFound(f"{name} reads no data: the notebook is all there is")
    try:
        body = await run_in_threadpool(handouts.data_zip, handout)
    except UserError as exc:  # the instructor's data went missing since the server started
        raise HTTPException(503, str(exc)) from None
    return Response(body, media_type="application/zip", headers={"Content-Disposition": attachment(handout.zip_name)})


@router.get("/assignments/{name}/{filename}")
def notebook(name: str, filename: str, who: DownloadingUser, handouts: HandoutsDep):
    """A released notebook, as released."""
    path = released_handout(handouts, name).notebooks.get(filename)
    if path is None:
        raise NotFound(f"{name} has no released notebook {filename!r}")
    return FileResponse(path, media_type="application/x-ipynb+json", filename=filename)
