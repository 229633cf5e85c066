"""A student's pages: the upload form, the result of an upload, the history with name and final pick."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from autograder.leaderboard.errors import NotFound
from autograder.web.dependencies import LeaderboardDep, PostingStudent, StudentVisitor, Visitor, csrf_value, visitor_of
from autograder.web.errors import page_reply, replies
from autograder.web.forms import PageUpload
from autograder.web.rendering import render_page, site_of

router = APIRouter()


def student_context(request: Request, visitor: Visitor) -> dict:
    """What every page of a logged-in student shows: who they are, their CSRF value, today's quota left."""
    lb = site_of(request).leaderboard
    return {"who": visitor.who, "csrf": csrf_value(visitor.token), "remaining": lb.remaining_today(visitor.who)}


def render_student_page(request: Request, visitor: Visitor, name: str, **context) -> Response:
    """A page of a logged-in student."""
    return render_page(request, name, **student_context(request, visitor), **context)


def student_page_reply(template: str, context: Callable[[Request, Visitor], dict] | None = None):
    """Refusals on a student's page: ``template`` again, for the visitor of the cookie, with the message."""

    def page(request: Request) -> dict:
        visitor = visitor_of(request)
        extra = context(request, visitor) if context is not None else {}
        return {**student_context(request, visitor), **extra}

    return Depends(replies(page_reply(template, page)))


def _history(request: Request, visitor: Visitor) -> dict:
    return {"rows": site_of(request).leaderboard.history(visitor.who)}


@router.get("/submit", response_class=HTMLResponse)
def submit_page(request: Request, visitor: StudentVisitor):
    """The upload form."""
    return render_student_page(request, visitor, "submit.html")


@router.post("/submit", dependencies=[student_page_reply("submit.html")])
async def submit_form(visitor: PostingStudent, upload: PageUpload, lb: LeaderboardDep):
    """Accept an upload from the form and show its result."""
    visitor.check_csrf(upload.csrf)
    result = await run_in_threadpool(lb.submit, visitor.who, upload.data, upload.filename, upload.notebook,
                                     upload.notebook_name)
    return RedirectResponse(f"/result/{result.id}", status_code=303)


@router.get("/result/{submission_id}", response_class=HTMLResponse, dependencies=[student_page_reply("submit.html")])
def result_page(request: Request, submission_id: int, visitor: StudentVisitor, lb: LeaderboardDep):
    """One of the student's own uploads (404 for anyone else's)."""
    entry = next((row for row in lb.history(visitor.who) if row["id"] == submission_id), None)
    if entry is None:
        raise NotFound(f"no submission {submission_id} of yours")
    return render_student_page(request, visitor, "result.html", entry=entry)


@router.get("/me", response_class=HTMLResponse)
def history_page(request: Request, visitor: StudentVisitor, lb: LeaderboardDep):
    """The entrant's uploads, newest first."""
    return render_student_page(request, visitor, "history.html", rows=lb.history(visitor.who))


@router.post("/me", dependencies=[student_page_reply("history.html", _history)])
async def history_action(request: Request, visitor: PostingStudent, lb: LeaderboardDep):
    """Rename the board entry (field ``name``) or pick the final submission (``submission_id``)."""
    try:
        form = await request.form(max_files=0, max_fields=4, max_part_size=1024)
    except Exception:  # an unreadable form has no CSRF value: refused below
        form = {}
    visitor.check_csrf(form.get("csrf"))
    if "name" in form:
        await run_in_threadpool(lb.set_display_name, visitor.who, str(form["name"]))
    else:
        choice = str(form.get("submission_id", ""))
        await run_in_threadpool(lb.select_final, visitor.who, int(choice) if choice.isdigit() else None)
    return RedirectResponse("/me", status_code=303)
