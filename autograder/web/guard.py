"""ASGI middleware in front of the app: a cap on request bodies and the security headers.

A body over the cap is refused from its Content-Length before the app sees it, or, when it
streams in without one, with :class:`BodyTooLarge` as soon as the cap is passed.
"""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import JSONResponse

SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                 b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class BodyTooLarge(HTTPException):
    """The request body went over the app's cap while it was being read.

    An :class:`HTTPException`, so that FastAPI's own body parsing lets it through unchanged.
    """

    def __init__(self, limit: int):
        super().__init__(413, f"the upload is larger than the server's limit of {limit:,} bytes")


def rejection(message: str) -> dict:
    """The body of a refused upload (the shape the upload API always answers with)."""
    return {"id": None, "status": "rejected", "public_score": None, "message": message}


def too_large_response(exc: BodyTooLarge) -> JSONResponse:
    """The 413 answer to a body over the cap. It comes before routing, so it carries the message both
    as the JSON API's ``detail`` and in the upload API's shape."""
    return JSONResponse({**rejection(exc.detail), "detail": exc.detail}, status_code=413)


class RequestGuard:
    """Refuse bodies over ``limit`` bytes and add the security headers to every response."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge(self.limit)
            return message

        async def secure_send(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await too_large_response(BodyTooLarge(self.limit))(scope, receive, secure_send)
        await self.app(scope, limited_receive, secure_send)
