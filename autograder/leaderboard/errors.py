"""Why the leaderboard refused a request (the web app maps each to an HTTP status)."""

from __future__ import annotations


class SubmissionRejected(Exception):
    """A request was refused and nothing was stored; ``reason`` is one of ``invalid``,
    ``too_large``, ``limit``, ``closed``, ``forbidden``, ``conflict``."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class NotFound(Exception):
    """The object does not exist or does not belong to the caller."""
