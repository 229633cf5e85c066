"""The leaderboard web app: pages for students and the instructor, and the JSON API.

Pages authenticate with a cookie holding the student's token (set by the login form,
HttpOnly, SameSite=Lax) and every form carries a CSRF value derived from that token; the
JSON API takes ``Authorization: Bearer <token>`` only. Templates autoescape everything, the
live board fills its rows with ``textContent``, and a strict Content-Security-Policy allows
only this site's own script. Request bodies are capped before they are parsed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from decimal import Decimal
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from autograder.leaderboard.deadline import deadline_line
from autograder.leaderboard.ladder import FIXED
from autograder.leaderboard.rules import render_rules
from autograder.leaderboard.store import (
    Leaderboard,
    NotFound,
    Principal,
    SubmissionRejected,
    iso,
)

HERE = Path(__file__).resolve().parent
COOKIE = "lb_token"
STATUS = {"invalid": 422, "too_large": 413, "limit": 429, "closed": 403, "forbidden": 403, "conflict": 409}
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                 b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class BodyTooLarge(Exception):
    """The request body went over the app's cap while it was being read."""


class _Guard:
    """ASGI middleware: refuse bodies over ``limit`` bytes and add security headers."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _too_large(self.limit)(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge
            return message

        async def secure_send(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, limited_receive, secure_send)


def _too_large(limit: int) -> JSONResponse:
    message = f"the upload is larger than the server's limit of {limit:,} bytes"
    return JSONResponse(_rejected(message), status_code=413, headers=dict((k.decode(), v.decode()) for k, v in SECURITY_HEADERS))


def _rejected(message: str) -> dict:
    return {"id": None, "status": "rejected", "public_score": None, "message": message}


def _unknown_student() -> JSONResponse:
    return JSONResponse(_rejected("missing or unknown student token (send Authorization: Bearer <token>)"), 401,
                        headers={"WWW-Authenticate": "Bearer"})


def csrf_value(token: str) -> str:
    """The CSRF value for forms of the session holding ``token``."""
    return hashlib.sha256(b"lb-csrf:" + token.encode("utf-8", "surrogatepass")).hexdigest()


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _decimals(eta: float) -> int:
    return max(3, -Decimal(repr(eta)).normalize().as_tuple().exponent)


def create_app(lb: Leaderboard, refresh_seconds: float = 5.0, rules: Path | None = None) -> FastAPI:
    """The FastAPI app serving ``lb``; the board page re-polls every ``refresh_seconds``;
    ``/rules`` shows the Markdown file ``rules`` (default: docs/competition-rules.md of the course)."""
    app = FastAPI(title="QuickDraw leaderboard", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    settings = lb.settings()
    digits = _decimals(settings.eta) if settings.ladder == FIXED else 3
    templates.filters["score"] = lambda value: "" if value is None else f"{value:.{digits}f}"
    templates.globals["digits"] = digits
    templates.filters["time"] = lambda value: "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")
    app.add_middleware(_Guard, limit=settings.max_bytes + settings.max_notebook_bytes + 64 * 1024)

    @app.exception_handler(BodyTooLarge)
    async def _body_too_large(request: Request, exc: BodyTooLarge):
        return _too_large(settings.max_bytes + settings.max_notebook_bytes + 64 * 1024)

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        who = context.pop("who", None)
        current = lb.settings()
        now = lb.clock()
        html = templates.get_template(name).render(
            request=request, who=who, competition=current, closed=current.is_closed(now),
            deadline=deadline_line(current.closes_at, now), **context
        )
        return HTMLResponse(html, status_code=status)

    def from_cookie(request: Request) -> tuple[Principal | None, str | None]:
        token = request.cookies.get(COOKIE)
        return lb.authenticate(token), token

    def check_csrf(token: str, sent: object) -> bool:
        return isinstance(sent, str) and hmac.compare_digest(csrf_value(token), sent)

    async def read_upload(request: Request) -> tuple[dict, str | None]:
        """Fields of a multipart upload (file/notebook bytes and names, csrf); or an error."""
        try:
            form = await request.form(max_files=2, max_fields=4, max_part_size=64 * 1024)
        except BodyTooLarge:
            raise
        except Exception:  # any malformed multipart body: the client's fault
            return {}, "could not read the upload: send multipart/form-data with the CSV in a field named `file`"
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return {}, "no file: send the predictions CSV in a field named `file`"
        fields = {"file": await upload.read(), "filename": upload.filename or "predictions.csv",
                  "csrf": form.get("csrf")}
        notebook = form.get("notebook")
        if isinstance(notebook, UploadFile) and notebook.filename:
            fields["notebook"] = await notebook.read()
            fields["notebook_name"] = notebook.filename
        return fields, None

    # ---- pages --------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def board_page(request: Request):
        who, _ = from_cookie(request)
        return page(request, "board.html", who=who, rows=lb.board(), refresh=refresh_seconds,
                    private_rows=lb.board(private=True) if lb.is_closed() else None)

    @app.get("/rules", response_class=HTMLResponse)
    def rules_page(request: Request):
        who, _ = from_cookie(request)
        html, found = render_rules(rules)
        return page(request, "rules.html", 200 if found else 404, who=who, rules_html=html)

    @app.get("/favicon.ico")
    def favicon():
        return Response(status_code=204)

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request):
        return page(request, "login.html")

    @app.post("/login")
    async def login(request: Request):
        try:
            form = await request.form(max_files=0, max_fields=2, max_part_size=1024)
        except Exception:
            return await run_in_threadpool(page, request, "login.html", 400, error="could not read the form")
        token = form.get("token")
        token = token.strip() if isinstance(token, str) else None
        who = await run_in_threadpool(lb.authenticate, token)
        if who is None:
            return await run_in_threadpool(page, request, "login.html", 401,
                                           error="unknown token: check the token your instructor sent you")
        response = RedirectResponse("/instructor" if who.is_instructor else "/submit", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https",
                            max_age=30 * 24 * 3600)
        return response

    @app.post("/logout")
    def logout():
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    def student_page(request: Request, name: str, status: int = 200, **context):
        who, token = from_cookie(request)
        if who is None:
            return RedirectResponse("/login", status_code=303)
        if who.is_instructor:
            return RedirectResponse("/instructor", status_code=303)
        return page(request, name, status, who=who, csrf=csrf_value(token),
                    remaining=lb.remaining_today(who), **context)

    @app.get("/submit", response_class=HTMLResponse)
    def submit_page(request: Request):
        return student_page(request, "submit.html")

    @app.post("/submit")
    async def submit_form(request: Request):
        who, token = await run_in_threadpool(from_cookie, request)
        if who is None or who.is_instructor:
            return RedirectResponse("/login", status_code=303)
        fields, error = await read_upload(request)
        if error is None and not check_csrf(token, fields.get("csrf")):
            error, status = "the form expired; reload the page and try again", 403
        elif error is not None:
            status = 400
        else:
            try:
                result = await run_in_threadpool(lb.submit, who, fields["file"], fields["filename"],
                                                 fields.get("notebook"), fields.get("notebook_name"))
            except SubmissionRejected as exc:
                error, status = str(exc), STATUS[exc.reason]
            else:
                return RedirectResponse(f"/result/{result.id}", status_code=303)
        return await run_in_threadpool(student_page, request, "submit.html", status, error=error)

    @app.get("/result/{submission_id}", response_class=HTMLResponse)
    def result_page(request: Request, submission_id: int):
        who, _ = from_cookie(request)
        entry = None
        if who is not None and not who.is_instructor:
            entry = next((row for row in lb.history(who) if row["id"] == submission_id), None)
        if entry is None:
            return student_page(request, "submit.html", 404, error=f"no submission {submission_id} of yours")
        return student_page(request, "result.html", entry=entry)

    @app.get("/me", response_class=HTMLResponse)
    def history_page(request: Request):
        who, _ = from_cookie(request)
        return student_page(request, "history.html", rows=lb.history(who) if who and not who.is_instructor else [])

    @app.post("/me")
    async def history_action(request: Request):
        who, token = await run_in_threadpool(from_cookie, request)
        if who is None or who.is_instructor:
            return RedirectResponse("/login", status_code=303)
        try:
            form = await request.form(max_files=0, max_fields=4, max_part_size=1024)
        except Exception:
            form = {}
        error, status = None, 200
        if not check_csrf(token, form.get("csrf")):
            error, status = "the form expired; reload the page and try again", 403
        else:
            try:
                if "name" in form:
                    await run_in_threadpool(lb.set_display_name, who, str(form["name"]))
                else:
                    choice = str(form.get("submission_id", ""))
                    await run_in_threadpool(lb.select_final, who, int(choice) if choice.isdigit() else None)
            except SubmissionRejected as exc:
                error, status = str(exc), STATUS[exc.reason]
            except NotFound as exc:
                error, status = str(exc), 404
        if error is None:
            return RedirectResponse("/me", status_code=303)
        who, _ = await run_in_threadpool(from_cookie, request)
        rows = await run_in_threadpool(lb.history, who)
        return await run_in_threadpool(student_page, request, "history.html", status, rows=rows, error=error)

    @app.get("/instructor", response_class=HTMLResponse)
    def instructor_page(request: Request):
        who, token = from_cookie(request)
        if who is None or not who.is_instructor:
            return page(request, "login.html", 403, error="the instructor view needs the instructor token")
        return page(request, "instructor.html", who=who, public_rows=lb.board(), private_rows=lb.board(private=True),
                    students=lb.student_stats())

    # ---- JSON API -----------------------------------------------------------------------
    def api_principal(request: Request) -> Principal | None:
        return lb.authenticate(_bearer(request))

    def unauthorized() -> JSONResponse:
        return JSONResponse({"detail": "missing or unknown token (send Authorization: Bearer <token>)"}, 401,
                            headers={"WWW-Authenticate": "Bearer"})

    @app.get("/api/competition")
    def api_competition():
        current = lb.settings()
        return {"name": current.name, "classes": list(current.classes), "ladder": current.ladder, "eta": current.eta,
                "alpha": current.alpha,
                "max_team_size": current.max_team_size,
                "daily_limit": current.daily_limit, "max_bytes": current.max_bytes, "n_test": current.n_test,
                "n_public": current.n_public, "closes_at": iso(current.closes_at),
                "closed": current.is_closed(lb.clock())}

    @app.get("/api/board")
    def api_board(request: Request, private: bool = False):
        if private and not lb.is_closed():
            who = api_principal(request)
            if who is None or not who.is_instructor:
                return JSONResponse({"detail": "the private board is hidden until the competition closes"}, 403)
        return [row.as_json() for row in lb.board(private=private)]

    def authenticated_submit(token: str | None, fields: dict):
        """Authenticate and submit in one trip to the thread pool (the hot path)."""
        who = lb.authenticate(token)
        if who is None or who.is_instructor:
            return None
        return lb.submit(who, fields["file"], fields["filename"], fields.get("notebook"), fields.get("notebook_name"))

    @app.post("/api/submissions")
    async def api_submit(request: Request):
        token = _bearer(request)
        if request.headers.get("content-type", "").split(";")[0].strip().lower() == "text/csv":
            fields = {"file": await request.body(), "filename": request.headers.get("x-filename", "predictions.csv")}
        else:
            fields, error = await read_upload(request)
            if error is not None:
                if await run_in_threadpool(api_principal, request) is None:
                    return _unknown_student()
                return JSONResponse(_rejected(error), 400)
        try:
            result = await run_in_threadpool(authenticated_submit, token, fields)
        except SubmissionRejected as exc:
            return JSONResponse(_rejected(str(exc)), STATUS[exc.reason])
        if result is None:
            return _unknown_student()
        return JSONResponse(
            {"id": result.id, "status": "accepted", "public_score": result.public_score, "message": result.message,
             "moved": result.moved, "submitted_at": iso(result.submitted_at),
             "remaining_today": result.remaining_today}, 201)

    @app.get("/api/submissions")
    def api_history(request: Request):
        who = api_principal(request)
        if who is None or who.is_instructor:
            return unauthorized()
        return lb.history(who)

    @app.get("/api/me")
    def api_me(request: Request):
        who = api_principal(request)
        if who is None:
            return unauthorized()
        if who.is_instructor:
            return {"instructor": True}
        return {"instructor": False, "student": who.student_id, "name": who.name,
                "remaining_today": lb.remaining_today(who)}

    @app.put("/api/me/name")
    async def api_rename(request: Request):
        who = await run_in_threadpool(api_principal, request)
        if who is None or who.is_instructor:
            return unauthorized()
        body = await _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            return JSONResponse({"detail": 'send JSON {"name": "..."}'}, 400)
        try:
            name = await run_in_threadpool(lb.set_display_name, who, body["name"])
        except SubmissionRejected as exc:
            return JSONResponse({"detail": str(exc)}, STATUS[exc.reason])
        return {"name": name}

    @app.put("/api/selection")
    async def api_select(request: Request):
        who = await run_in_threadpool(api_principal, request)
        if who is None or who.is_instructor:
            return unauthorized()
        body = await _json_body(request)
        choice = body.get("submission_id", "missing") if isinstance(body, dict) else "missing"
        if choice is not None and (not isinstance(choice, int) or isinstance(choice, bool)):
            return JSONResponse({"detail": 'send JSON {"submission_id": <id or null>}'}, 400)
        try:
            await run_in_threadpool(lb.select_final, who, choice)
        except SubmissionRejected as exc:
            return JSONResponse({"detail": str(exc)}, STATUS[exc.reason])
        except NotFound as exc:
            return JSONResponse({"detail": str(exc)}, 404)
        return {"submission_id": choice}

    @app.get("/api/instructor/students")
    def api_students(request: Request):
        who = api_principal(request)
        if who is None or not who.is_instructor:
            return JSONResponse({"detail": "the instructor token is required"}, 403)
        return lb.student_stats()

    return app


def app_from_environment() -> FastAPI:
    """The app for ``$LEADERBOARD_DB`` (used by ``serve --workers N``: each worker builds its own)."""
    from autograder.leaderboard.store import database_url

    rules = os.environ.get("LEADERBOARD_RULES")
    return create_app(Leaderboard(database_url(os.environ["LEADERBOARD_DB"])),
                      refresh_seconds=float(os.environ.get("LEADERBOARD_REFRESH", "5")),
                      rules=Path(rules) if rules else None)


async def _json_body(request: Request):
    try:
        return await request.json()
    except BodyTooLarge:
        raise
    except Exception:
        return None

