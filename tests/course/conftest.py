"""Fixtures of the repo-content tests (lectures, solutions, released assignments, packaging).

``data_env``  (session) the environment a course notebook reads its data from: the prepared
              QuickDraw datasets of ``quickdraw_root`` (tests/conftest.py).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def data_env(quickdraw_root) -> dict[str, str]:
    return {"QUICKDRAW_HOMEWORK": str(quickdraw_root / "homework"),
            "QUICKDRAW_COMPETITION": str(quickdraw_root / "competition")}
