"""The public side: the live board page, the rules page, the board and settings as JSON."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from autograder.leaderboard.database import iso
from autograder.leaderboard.rules import render_rules
from autograder.web.dependencies import AnyVisitor, LeaderboardDep, api_caller
from autograder.web.rendering import render_page, site_of

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def board_page(request: Request, visitor: AnyVisitor, lb: LeaderboardDep):
    """The public board (re-polled by board.js), and the private one once the competition closed."""
    return render_page(request, "board.html", who=visitor.who, rows=lb.standings(),
                       refresh=site_of(request).refresh_seconds,
                       private_rows=lb.standings(private=True) if lb.is_closed() else None)


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, visitor: AnyVisitor):
    """The instructor's rules file (404 while there is none)."""
    html, found = render_rules(site_of(request).rules)
    return render_page(request, "rules.html", 200 if found else 404, who=visitor.who, rules_html=html)


@router.get("/api/competition")
def competition(lb: LeaderboardDep):
    """The competition's public settings."""
    current = lb.settings()
    return {"name": current.name, "classes": list(current.classes), "ladder": current.ladder, "eta": current.eta,
            "alpha": current.alpha,
            "max_team_size": current.max_team_size,
            "daily_limit": current.daily_limit, "max_bytes": current.max_bytes, "n_test": current.n_test,
            "n_public": current.n_public, "closes_at": iso(current.closes_at),
            "closed": current.is_closed(lb.clock())}


@router.get("/api/board")
def board(request: Request, lb: LeaderboardDep, private: bool = False):
    """The public board (unranked entries last, rank null); the private one only for the instructor
    until the competition closes. Each row says its verification state."""
    if private and not lb.is_closed():
        who = api_caller(request)  # asked only here: the public board needs no token
        if who is None or not who.is_instructor:
            raise HTTPException(403, "the private board is hidden until the competition closes")
    return [row.as_json() for row in lb.standings(private=private)]
