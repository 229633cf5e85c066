"""Handing homework in on the course server: upload an attempt (the page's form or the JSON API),
follow it from queued to running to its result, see the history and pick the attempt to grade;
the instructor releases the hidden checks' results or marks an assignment a practice one.

A refused file stores nothing and counts against nothing (4xx with one line saying why). An
attempt is only ever shown to its student and the instructor (404 for anyone else). The hidden
checks' results and the score are left out of every answer to a student until the instructor
releases them (or at once, for a practice assignment).
"""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from autograder.classroom.handin import Refused, check_handin, write_submitted
from autograder.errors import UserError
from autograder.leaderboard.accounts import Principal
from autograder.leaderboard.database import iso
from autograder.leaderboard.handins import AttemptView, Policy, graded_choice
from autograder.leaderboard.homework_models import DONE, FAILED
from autograder.web.dependencies import ApiInstructor, ApiStudent, ApiUser, PostingStudent, StudentVisitor, Visitor
from autograder.web.forms import HandedIn, NotebookUpload
from autograder.web.rendering import site_of
from autograder.web.routers.homework import released_handout
from autograder.web.routers.student_pages import render_student_page, student_page_reply
from autograder.web.schemas import FeedbackPolicy, GradedPick
from autograder.web.site import Site

router = APIRouter()
HELD_BACK = "the hidden checks' results are shown once the instructor releases feedback"


def attempt_json(attempt: AttemptView, policy: Policy, graded_id: int | None, instructor: bool = False) -> dict:
    """An attempt as its student (or the instructor) may see it now."""
    finished = attempt.state in (DONE, FAILED)
    shows_hidden = instructor or policy.shows_hidden
    data = {"id": attempt.id, "assignment": attempt.assignment, "notebook": attempt.notebook_name,
            "filename": attempt.filename, "submitted_at": iso(attempt.created_at), "late": attempt.late,
            "graded": attempt.id == graded_id, "state": attempt.state, "started_at": iso(attempt.started_at),
            "finished_at": iso(attempt.finished_at),
            "visible": json.loads(attempt.visible) if finished and attempt.visible else None,
            "hidden": json.loads(attempt.hidden) if finished and shows_hidden and attempt.hidden else None,
            "hidden_status": hidden_status(policy)}
    if instructor:
        data["student"], data["tries"] = attempt.student, attempt.tries
    return data


def attempt_for(site: Site, who: Principal, attempt_id: int) -> dict:
    """One attempt as ``who`` may see it, with which of its siblings is graded (404 if not theirs)."""
    lb = site.leaderboard
    attempt = lb.attempt(who, attempt_id)  # NotFound (404) for another student's
    siblings = ([a for a in lb.all_attempts(attempt.assignment) if a.student == attempt.student]
                if who.is_instructor else lb.attempts(who, attempt.assignment))
    graded = graded_choice(siblings)
    return attempt_json(attempt, lb.policy(attempt.assignment), graded.id if graded else None, who.is_instructor)


def _write_graded(site: Site, who: Principal, name: str) -> None:
    """Keep nbgrader's submitted/ copy of the student's graded attempt up to date."""
    choice = graded_choice(site.leaderboard.attempts(who, name))
    if choice is None:
        return
    try:
        write_submitted(site.handouts.course, who.student_id, name, choice.notebook_name,
                        site.leaderboard.attempt_data(choice.id), choice.created_at)
    except (UserError, OSError) as exc:  # the attempt stays accepted and graded; the instructor's copy is missing
        print(f"hand-in: {exc}", flush=True)


def hand_in(site: Site, who: Principal, name: str, upload: NotebookUpload) -> dict:
    """Check and store an attempt (``HTTPException`` 4xx when refused: nothing stored)."""
    handout = released_handout(site.handouts, name)
    try:
        notebook = check_handin(handout, upload.filename, upload.data, site.leaderboard.settings().max_notebook_bytes)
    except Refused as exc:
        raise HTTPException(exc.status, str(exc)) from None
    attempt = site.leaderboard.hand_in(who, name, notebook, str(upload.filename), upload.data, handout.due,
                                       site.attempts_per_hour)
    _write_graded(site, who, name)
    return attempt_for(site, who, attempt.id)


def _history(site: Site, who: Principal, name: str) -> dict:
    released_handout(site.handouts, name)
    attempts = site.leaderboard.attempts(who, name)
    graded = graded_choice(attempts)
    policy = site.leaderboard.policy(name)
    graded_id = graded.id if graded else None
    return {"assignment": name, "graded": graded_id, "hidden_status": hidden_status(policy),
            "attempts": [attempt_json(a, policy, graded_id) for a in reversed(attempts)]}


def hidden_status(policy: Policy) -> str:
    """Whether the hidden results are shown to students, in words."""
    return "practice" if policy.practice else "released" if policy.feedback_released else HELD_BACK


@router.post("/api/assignments/{name}/attempts")
async def api_hand_in(request: Request, name: str, who: ApiStudent, upload: HandedIn):
    """Hand in a notebook (multipart field ``notebook``, or the raw body): 201 with the queued attempt."""
    return JSONResponse(await run_in_threadpool(hand_in, site_of(request), who, name, upload), 201)


@router.get("/api/assignments/{name}/attempts")
def api_history(request: Request, name: str, who: ApiStudent):
    """The student's attempts at ``name``, newest first, and which one is graded."""
    return _history(site_of(request), who, name)


@router.put("/api/assignments/{name}/graded")
def api_pick(request: Request, name: str, who: ApiStudent, pick: GradedPick):
    """Pick the attempt to grade (null: back to the latest on time)."""
    site = site_of(request)
    released_handout(site.handouts, name)
    choice = site.leaderboard.select_attempt(who, name, pick.attempt_id)
    _write_graded(site, who, name)
    return {"graded": choice.id if choice else None}


@router.get("/api/attempts/{attempt_id}")
def api_attempt(request: Request, attempt_id: int, who: ApiUser):
    """One attempt (the student's own; the instructor: any), as it stands now: poll it."""
    return attempt_for(site_of(request), who, attempt_id)


@router.put("/api/instructor/assignments/{name}/feedback")
def api_feedback_policy(request: Request, name: str, who: ApiInstructor, change: FeedbackPolicy):
    """Release (or hold back) the hidden results of ``name``, or mark it a practice assignment."""
    site = site_of(request)
    released_handout(site.handouts, name)
    policy = site.leaderboard.set_policy(name, change.released, change.practice)
    return {"assignment": name, "released": policy.feedback_released, "practice": policy.practice}


@router.get("/api/instructor/assignments/{name}/attempts")
def api_all_attempts(request: Request, name: str, who: ApiInstructor):
    """Every attempt at ``name``, with the hidden results, the tries and which one is each student's graded one."""
    site = site_of(request)
    released_handout(site.handouts, name)
    policy = site.leaderboard.policy(name)
    attempts = site.leaderboard.all_attempts(name)
    by_student: dict[str, list[AttemptView]] = {}
    for attempt in attempts:
        by_student.setdefault(attempt.student, []).append(attempt)
    graded = {student: graded_choice(theirs).id for student, theirs in by_student.items()}
    return [attempt_json(a, policy, graded[a.student], instructor=True) for a in attempts]


def _assignments(request: Request, visitor: Visitor) -> dict:
    return {"handouts": site_of(request).handouts.released()}


@router.post("/assignments/{name}/attempts", dependencies=[student_page_reply("assignments.html", _assignments)])
async def page_hand_in(request: Request, name: str, visitor: PostingStudent, upload: HandedIn):
    """The page's form: hand in, then follow the attempt on its page."""
    visitor.check_csrf(upload.csrf)
    attempt = await run_in_threadpool(hand_in, site_of(request), visitor.who, name, upload)
    return RedirectResponse(f"/attempts/{attempt['id']}", status_code=303)


@router.get("/attempts/{attempt_id}", response_class=HTMLResponse)
def attempt_page(request: Request, attempt_id: int, visitor: StudentVisitor):
    """The page of one attempt; it polls :func:`attempt_status` until the result is there."""
    attempt = attempt_for(site_of(request), visitor.who, attempt_id)
    return render_student_page(request, visitor, "attempt.html", attempt=attempt)


@router.get("/attempts/{attempt_id}/status")
def attempt_status(request: Request, attempt_id: int, visitor: StudentVisitor) -> dict:
    """The attempt page's poll (the session cookie's student only)."""
    return attempt_for(site_of(request), visitor.who, attempt_id)
