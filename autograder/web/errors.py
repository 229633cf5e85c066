"""Every refusal becomes a response here: one exception handler per kind of error.

The handlers know the status; the route that refused knows the shape of the answer. A
route (or its router) names that shape with ``Depends(replies(...))``:
:func:`detail_reply` (``{"detail": ...}``, the default), :func:`rejection_reply` (the upload
API's ``{"id": null, "status": "rejected", ...}``) or :func:`page_reply` (the HTML page
shown again with the message).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import get_type_hints

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from autograder.leaderboard.errors import NotFound, SubmissionRejected
from autograder.web.guard import BodyTooLarge, rejection, too_large_response
from autograder.web.rendering import render_page
from autograder.web.schemas import JsonBody

# SubmissionRejected.reason -> HTTP status
STATUS = {"invalid": 422, "too_large": 413, "limit": 429, "closed": 403, "forbidden": 403, "conflict": 409}

Reply = Callable[[Request, int, str, Mapping[str, str] | None], Awaitable[Response]]
PageContext = Callable[[Request], dict]


class Redirect(Exception):
    """Send the browser elsewhere (303), e.g. to the login page."""

    def __init__(self, location: str):
        super().__init__(location)
        self.location = location


async def detail_reply(request: Request, status: int, message: str,
                       headers: Mapping[str, str] | None = None) -> Response:
    """``{"detail": message}``: the JSON API's answer to a refusal."""
    return JSONResponse({"detail": message}, status, headers=headers)


async def rejection_reply(request: Request, status: int, message: str,
                          headers: Mapping[str, str] | None = None) -> Response:
    """The upload API's answer: the shape of an accepted upload, with ``status: rejected``."""
    return JSONResponse(rejection(message), status, headers=headers)


def page_reply(template: str, context: PageContext | None = None) -> Reply:
    """Show ``template`` again with the message (``context(request)`` adds the rest, in a worker thread)."""

    async def reply(request: Request, status: int, message: str, headers: Mapping[str, str] | None = None):
        def render() -> Response:
            extra = context(request) if context is not None else {}
            return render_page(request, template, status, error=message, **extra)

        return await run_in_threadpool(render)

    return reply


def replies(reply: Reply):
    """A dependency naming how the route answers a refusal."""

    async def choose(request: Request) -> None:
        request.state.reply = reply

    return choose


def _reply_of(request: Request) -> Reply:
    return getattr(request.state, "reply", detail_reply)


async def _rejected(request: Request, exc: SubmissionRejected) -> Response:
    return await _reply_of(request)(request, STATUS[exc.reason], str(exc), None)


async def _not_found(request: Request, exc: NotFound) -> Response:
    return await _reply_of(request)(request, 404, str(exc), None)


async def _refused(request: Request, exc: HTTPException) -> Response:
    return await _reply_of(request)(request, exc.status_code, str(exc.detail), exc.headers)


async def _too_large(request: Request, exc: BodyTooLarge) -> Response:
    return too_large_response(exc)


async def _redirect(request: Request, exc: Redirect) -> Response:
    return RedirectResponse(exc.location, status_code=303)


async def _malformed_body(request: Request, exc: RequestValidationError) -> Response:
    """400 with the body model's ``usage``; other invalid parameters keep FastAPI's 422."""
    route = request.scope.get("route")
    hints = get_type_hints(route.endpoint) if route is not None and hasattr(route, "endpoint") else {}
    model = next((hint for hint in hints.values() if isinstance(hint, type) and issubclass(hint, JsonBody)), None)
    if model is None:
        return await request_validation_exception_handler(request, exc)
    return await detail_reply(request, 400, model.usage)


def install_error_handlers(app: FastAPI) -> None:
    """Register one handler per kind of error on ``app``."""
    app.add_exception_handler(SubmissionRejected, _rejected)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(HTTPException, _refused)
    app.add_exception_handler(BodyTooLarge, _too_large)
    app.add_exception_handler(Redirect, _redirect)
    app.add_exception_handler(RequestValidationError, _malformed_body)
