"""The instructor's view: both boards, the per-student table and (on the course server) links to each
assignment's dashboard, as a page and as JSON."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from autograder.web.dependencies import ApiInstructor, InstructorVisitor, LeaderboardDep
from autograder.web.errors import page_reply, replies
from autograder.web.rendering import render_page, site_of

router = APIRouter()


@router.get("/instructor", response_class=HTMLResponse, dependencies=[Depends(replies(page_reply("login.html")))])
def instructor_page(request: Request, visitor: InstructorVisitor, lb: LeaderboardDep):
    """Public and private boards with verification status, and every student's numbers."""
    handouts = site_of(request).handouts
    return render_page(request, "instructor.html", who=visitor.who, public_rows=lb.standings(),
                       private_rows=lb.board(private=True), students=lb.student_stats(),
                       assignments=handouts.released() if handouts is not None else [])


@router.get("/api/instructor/students")
def students(who: ApiInstructor, lb: LeaderboardDep):
    """Per student: entrant, submissions, scores and verification status."""
    return lb.student_stats()
