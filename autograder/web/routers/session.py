"""Logging in and out: the session cookie holds the token (HttpOnly, SameSite=Lax)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from autograder.web.dependencies import COOKIE, LeaderboardDep
from autograder.web.errors import page_reply, replies
from autograder.web.rendering import render_page, site_of

router = APIRouter(dependencies=[Depends(replies(page_reply("login.html")))])


@router.get("/favicon.ico")
def favicon():
    """No icon (and no 404 in the logs)."""
    return Response(status_code=204)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request):
    """The form asking for the token."""
    return render_page(request, "login.html")


@router.post("/login")
async def login(request: Request, lb: LeaderboardDep):
    """Check the token and keep it in the session cookie; the instructor lands on their page."""
    try:
        form = await request.form(max_files=0, max_fields=2, max_part_size=1024)
    except Exception:  # any unreadable form, an oversized one included
        raise HTTPException(400, "could not read the form") from None
    token = form.get("token")
    token = token.strip() if isinstance(token, str) else None
    who = await run_in_threadpool(lb.authenticate, token)
    if who is None:
        raise HTTPException(401, "unknown token: check the token your instructor sent you")
    home = "/instructor" if who.is_instructor else site_of(request).student_home
    response = RedirectResponse(home, status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https",
                        max_age=30 * 24 * 3600)
    return response


@router.post("/logout")
def logout():
    """Forget the session cookie."""
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response
