"""The JSON request bodies of the API, as Pydantic models."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class JsonBody(BaseModel):
    """A JSON request body: strictly typed (no ``"5"`` for 5, no ``true`` for 1); a malformed
    one is answered 400 with ``usage``."""

    model_config = ConfigDict(strict=True)
    usage: ClassVar[str]


class NameChange(JsonBody):
    """``PUT /api/me/name``: the student's new board name."""

    usage: ClassVar[str] = 'send JSON {"name": "..."}'
    name: str


class Selection(JsonBody):
    """``PUT /api/selection``: the submission for the private board (null: the best public one)."""

    usage: ClassVar[str] = 'send JSON {"submission_id": <id or null>}'
    submission_id: int | None


class GradedPick(JsonBody):
    """``PUT /api/assignments/{name}/graded``: the attempt to grade (null: the latest on time)."""

    usage: ClassVar[str] = 'send JSON {"attempt_id": <id or null>}'
    attempt_id: int | None


class FeedbackPolicy(JsonBody):
    """``PUT /api/instructor/assignments/{name}/feedback``: release the hidden results, or mark a practice one."""

    usage: ClassVar[str] = 'send JSON {"released": true|false} and/or {"practice": true|false}'
    released: bool | None = None
    practice: bool | None = None
