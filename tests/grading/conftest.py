"""Fixtures of the grading-engine tests.

``mode``  (module, parametrised ``plain`` / ``zygote``) the batch options that grade a drop-in
          course with plain sandboxes or with zygote kernels; every drop-in test runs in both.
"""

from __future__ import annotations

import pytest

MODES = {"zygote": {"zygote": True}, "plain": {"zygote": False}}


@pytest.fixture(scope="module", params=sorted(MODES))
def mode(request) -> dict:
    return MODES[request.param]
