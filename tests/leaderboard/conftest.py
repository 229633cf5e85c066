"""Fixtures of the leaderboard tests.

``db_url``  (parametrised ``sqlite`` / ``postgresql``) the URL of a new, empty database: every
            test taking it runs on SQLite and again on PostgreSQL (the ``postgresql`` fixture of
            tests/conftest.py), where the rules rest on row locks instead of SQLite's single writer.
"""

from __future__ import annotations

import pytest

from tests.leaderboard.boards import sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A new database on SQLite (in ``tmp_path``) or on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return request.getfixturevalue("postgresql")()
