"""Tests of the graded assignments' hidden checks (autograder/checks/): every assignment graded
end to end, the fooling submissions (fooling_cases.py), and the rules the checks build on.

``checks_batch``  (session) the notebooks of test_assignments.py (wrong_cases.py) and of
                  test_fooling.py (fooling_cases.py), graded in one pool of 2 grading workers
                  (``run_local``, the local pool of ``grade_class``), each with its module's seed
                  and sandbox kind (plain sandboxes for test_assignments.py; zygote kernels for
                  xor and activations, plain for the others in test_fooling.py):
                  ``{"assignments": {assignment: {student: result}},
                  "fooling": {case id: result}}``. One pool instead of one per module and
                  assignment: each worker starts the grading stack, the checks and the zygotes
                  of an assignment once, and no worker waits idle at the end of an assignment.
``quickdraw_root`` comes from tests/conftest.py.
"""

from __future__ import annotations

import pytest

from autograder.classroom.autograded import finite_result
from autograder.classroom.grade_class import run_local
from autograder.classroom.worker import make_payload
from tests.checks import fooling_cases, wrong_cases


def _assignment_payloads(folder, data_root) -> list[dict]:
    options = {"data_root": str(data_root), "zygote": False}  # plain sandboxes, as grade_submission's default
    payloads = []
    for assignment, spec in wrong_cases.ASSIGNMENTS.items():
        notebooks = {"solution": spec.solution_notebook(wrong_cases.ROOT), "blank": spec.release_notebook(wrong_cases.ROOT),
                     "wrong": wrong_cases.wrong_notebook(assignment, folder / assignment)}
        for student, path in notebooks.items():
            payload = make_payload(assignment, student, str(path), path.read_bytes(), wrong_cases.SEED,
                                   wrong_cases.ROOT, options=options)
            payload["key"] = ("assignments", assignment, student)
            payloads.append(payload)
    return payloads


def _fooling_payloads(folder, data_root) -> list[dict]:
    payloads = []
    for case in fooling_cases.ALL:
        options = {"data_root": str(data_root), "zygote": case.assignment not in fooling_cases.PLAIN}
        path = fooling_cases.fooling_notebook(case, folder)
        payload = make_payload(case.assignment, case.id, case.assignment, path.read_bytes(), fooling_cases.SEED,
                               fooling_cases.ROOT, options=options)
        payload["key"] = ("fooling", case.id)
        payloads.append(payload)
    return payloads


@pytest.fixture(scope="session")
def checks_batch(quickdraw_root, tmp_path_factory) -> dict:
    """Every notebook of test_assignments.py and test_fooling.py, graded in one pool (see above)."""
    folder = tmp_path_factory.mktemp("checks_batch")
    for assignment in wrong_cases.ASSIGNMENTS:
        (folder / assignment).mkdir()
    payloads = _assignment_payloads(folder, quickdraw_root) + _fooling_payloads(folder, quickdraw_root)
    batch = {"assignments": {name: {} for name in wrong_cases.ASSIGNMENTS}, "fooling": {}}
    for payload, output in run_local(payloads, workers=2):
        assert not output.grader_fault, output.result.error
        kind, *key = payload["key"]
        if kind == "assignments":
            batch["assignments"][key[0]][key[1]] = output.result  # the engine's result, as grade_submission's
        else:
            batch["fooling"][key[0]] = finite_result(output.result)  # as grade_class reports it
    return batch
