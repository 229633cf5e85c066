"""A student's JSON API: upload predictions, read the history, rename the entry, pick the final one."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from autograder.leaderboard.database import iso
from autograder.web.dependencies import ApiStudent, ApiUser, LeaderboardDep, UploadingStudent
from autograder.web.errors import rejection_reply, replies
from autograder.web.forms import ApiUpload
from autograder.web.schemas import NameChange, Selection

router = APIRouter(prefix="/api")


@router.post("/submissions", dependencies=[Depends(replies(rejection_reply))])
async def upload(who: UploadingStudent, sent: ApiUpload, lb: LeaderboardDep):
    """Validate, score and store an upload (201), or say why not (4xx, nothing stored)."""
    result = await run_in_threadpool(lb.submit, who, sent.data, sent.filename, sent.notebook, sent.notebook_name)
    return JSONResponse(
        {"id": result.id, "status": "accepted", "public_score": result.public_score, "message": result.message,
         "moved": result.moved, "submitted_at": iso(result.submitted_at),
         "remaining_today": result.remaining_today}, 201)


@router.get("/submissions")
def history(who: ApiStudent, lb: LeaderboardDep):
    """The entrant's uploads, newest first."""
    return lb.history(who)


@router.get("/me")
def me(who: ApiUser, lb: LeaderboardDep):
    """Who the token belongs to (and, for a student, today's quota left)."""
    if who.is_instructor:
        return {"instructor": True}
    return {"instructor": False, "student": who.student_id, "name": who.name,
            "remaining_today": lb.remaining_today(who)}


@router.put("/me/name")
def rename(who: ApiStudent, change: NameChange, lb: LeaderboardDep):
    """Set the student's board name (not a team's)."""
    return {"name": lb.set_display_name(who, change.name)}


@router.put("/selection")
def select(who: ApiStudent, selection: Selection, lb: LeaderboardDep):
    """Pick the submission for the private board (null: back to the best public one)."""
    lb.select_final(who, selection.submission_id)
    return {"submission_id": selection.submission_id}
