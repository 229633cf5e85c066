"""Who is asking, as FastAPI dependencies.

Pages authenticate with a cookie holding the student's token (set by the login form,
HttpOnly, SameSite=Lax) and every form carries a CSRF value derived from that token; the
JSON API takes ``Authorization: Bearer <token>`` only. A dependency that finds the wrong
visitor raises: :class:`~autograder.web.errors.Redirect` on pages, an ``HTTPException``
(401 or 403) otherwise. Only the two that read the database (:func:`visitor_of`,
:func:`api_caller`) run in a worker thread; the checks on their answer are ``async``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from autograder.leaderboard.accounts import Principal
from autograder.leaderboard.store import Leaderboard
from autograder.web.errors import Redirect
from autograder.web.rendering import site_of

COOKIE = "lb_token"
UNKNOWN_TOKEN = "missing or unknown token (send Authorization: Bearer <token>)"
UNKNOWN_STUDENT = "missing or unknown student token (send Authorization: Bearer <token>)"
FORM_EXPIRED = "the form expired; reload the page and try again"
NOT_SIGNED_IN = "log in first, or send Authorization: Bearer <token>"


async def leaderboard(request: Request) -> Leaderboard:
    """The leaderboard the app serves."""
    return site_of(request).leaderboard


LeaderboardDep = Annotated[Leaderboard, Depends(leaderboard)]


def csrf_value(token: str) -> str:
    """The CSRF value for forms of the session holding ``token``."""
    return hashlib.sha256(b"lb-csrf:" + token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Visitor:
    """Who is looking at a page: the principal of the session cookie (None: nobody) and its token."""

    who: Principal | None
    token: str | None

    @property
    def is_student(self) -> bool:
        """Whether a student (not the instructor, not nobody) holds the session."""
        return self.who is not None and not self.who.is_instructor

    def check_csrf(self, sent: object) -> None:
        """Refuse a form whose CSRF value is not this session's (403)."""
        if not (isinstance(sent, str) and self.token and hmac.compare_digest(csrf_value(self.token), sent)):
            raise HTTPException(403, FORM_EXPIRED)


def visitor_of(request: Request) -> Visitor:
    """The visitor of the session cookie (anyone, logged in or not)."""
    token = request.cookies.get(COOKIE)
    return Visitor(site_of(request).leaderboard.authenticate(token), token)


async def student_visitor(visitor: Annotated[Visitor, Depends(visitor_of)]) -> Visitor:
    """A student's page: others go to the login page, the instructor to the instructor's."""
    if visitor.who is None:
        raise Redirect("/login")
    if visitor.who.is_instructor:
        raise Redirect("/instructor")
    return visitor


async def posting_student(visitor: Annotated[Visitor, Depends(visitor_of)]) -> Visitor:
    """A student's form: anyone else goes to the login page."""
    if not visitor.is_student:
        raise Redirect("/login")
    return visitor


async def instructor_visitor(visitor: Annotated[Visitor, Depends(visitor_of)]) -> Visitor:
    """The instructor's page: refused (403) to anyone else."""
    if visitor.who is None or not visitor.who.is_instructor:
        raise HTTPException(403, "the instructor view needs the instructor token")
    return visitor


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def api_caller(request: Request) -> Principal | None:
    """Whoever the bearer token belongs to (None: nobody)."""
    return site_of(request).leaderboard.authenticate(bearer_token(request))


ApiCaller = Annotated[Principal | None, Depends(api_caller)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


async def api_user(who: ApiCaller) -> Principal:
    """A student or the instructor (401 otherwise)."""
    if who is None:
        raise _unauthorized(UNKNOWN_TOKEN)
    return who


async def api_student(who: ApiCaller) -> Principal:
    """A student (401 otherwise)."""
    if who is None or who.is_instructor:
        raise _unauthorized(UNKNOWN_TOKEN)
    return who


async def uploading_student(who: ApiCaller) -> Principal:
    """A student uploading predictions (401 otherwise, said as the upload API says it)."""
    if who is None or who.is_instructor:
        raise _unauthorized(UNKNOWN_STUDENT)
    return who


def downloader_of(request: Request) -> Principal | None:
    """Whoever the bearer token or, without one, the session cookie belongs to (None: nobody)."""
    return site_of(request).leaderboard.authenticate(bearer_token(request) or request.cookies.get(COOKIE))


async def downloading_user(who: Annotated[Principal | None, Depends(downloader_of)]) -> Principal:
    """A student or the instructor, by bearer token or session cookie (401 otherwise): a download
    works from the page's link and from ``curl -H "Authorization: Bearer ..."`` alike."""
    if who is None:
        raise _unauthorized(NOT_SIGNED_IN)
    return who


async def downloading_instructor(who: Annotated[Principal | None, Depends(downloader_of)]) -> Principal:
    """The instructor, by bearer token or session cookie (403 otherwise): the dashboard's plots and downloads."""
    if who is None or not who.is_instructor:
        raise HTTPException(403, "the instructor token is required")
    return who


async def api_instructor(who: ApiCaller) -> Principal:
    """The instructor (403 otherwise)."""
    if who is None or not who.is_instructor:
        raise HTTPException(403, "the instructor token is required")
    return who


StudentVisitor = Annotated[Visitor, Depends(student_visitor)]
PostingStudent = Annotated[Visitor, Depends(posting_student)]
InstructorVisitor = Annotated[Visitor, Depends(instructor_visitor)]
AnyVisitor = Annotated[Visitor, Depends(visitor_of)]
ApiUser = Annotated[Principal, Depends(api_user)]
ApiStudent = Annotated[Principal, Depends(api_student)]
UploadingStudent = Annotated[Principal, Depends(uploading_student)]
ApiInstructor = Annotated[Principal, Depends(api_instructor)]
DownloadingUser = Annotated[Principal, Depends(downloading_user)]
DownloadingInstructor = Annotated[Principal, Depends(downloading_instructor)]
