"""Submissions built to fool the hidden checks (fooling_cases.py), graded through the production
path (the local pool of ``grade_class``, 2 workers, in the folder's ``checks_batch``; xor and
activations with zygote kernels, quickdraw_loader and mlp_scratch with plain sandboxes): each gets
exactly the points of the checks it really earned, and every other check gives 0. Also: the
student's kernel cannot see the run's seed."""

from __future__ import annotations

import json
import random
import zlib

import nbformat
import numpy as np
import pytest

from autograder.grading.assignments import get_assignment
from autograder.grading.grader import grade_submission, kernel_seed
from autograder.sandbox.probe import missing_protections
from tests.checks.fooling_cases import ALL, ROOT, SEED

pytestmark = pytest.mark.skipif(bool(missing_protections()), reason="needs the sandbox (bubblewrap)")


@pytest.fixture(scope="module")
def fooled(checks_batch):
    """case id -> result, graded in the folder's batch (tests/checks/conftest.py)."""
    return checks_batch["fooling"]


@pytest.mark.parametrize("case", ALL, ids=[c.id for c in ALL])
def test_a_fooling_submission_gets_only_what_it_earned(fooled, case):
    result = fooled[case.id]
    assert result.status == "graded", result.error
    got = {c.name: c.points for c in result.checks}
    assert set(case.earns) <= set(got), sorted(set(case.earns) - set(got))
    wrong = {name: (points, case.earns.get(name, 0.0), message) for name, points, message in
             ((c.name, c.points, c.message) for c in result.checks)
             if points != pytest.approx(case.earns.get(name, 0.0))}
    assert not wrong, wrong
    assert result.score == pytest.approx(case.score)
    for check in result.checks:
        assert (check.outcome == "passed") == (check.name in case.earns), check
        if check.outcome != "passed":
            assert check.message, check


SEED_PROBE = """
import random, numpy, torch
print("SEEDS", torch.initial_seed(), int(numpy.random.get_state()[1][0]), random.getrandbits(32))
"""


def kernel_seeds(quickdraw_root, seed: int) -> tuple[int, int, int]:
    """What a notebook observes of the global generators before its own code runs."""

    nb = nbformat.read(get_assignment("xor").release_notebook(ROOT), as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(SEED_PROBE))
    graded = grade_submission("xor", nbformat.writes(nb).encode(), "probe", "probe.ipynb", seed, course_root=ROOT,
                              data_root=quickdraw_root)
    text = json.dumps(graded.executed.cells[0].outputs)
    return tuple(int(v) for v in text.split("SEEDS ")[1].split("\\n")[0].split())


def test_the_kernel_cannot_see_the_run_seed_and_a_regrade_reproduces(quickdraw_root):
    torch_seed, numpy_key, python_bits = kernel_seeds(quickdraw_root, SEED)
    names = ["test_train_xor_losses", "test_relu_model_fits_xor", "test_forward_matches_reference"]
    check_states = {int(np.random.SeedSequence([SEED, zlib.crc32(n.encode())]).generate_state(1)[0]) for n in names}
    assert torch_seed == kernel_seed(SEED) and torch_seed not in {SEED, SEED % 2**32} | check_states
    assert numpy_key != int(np.random.RandomState(SEED % 2**32).get_state()[1][0])
    assert python_bits != random.Random(SEED).getrandbits(32)
    assert kernel_seeds(quickdraw_root, SEED) == (torch_seed, numpy_key, python_bits)  # the regrade
    assert kernel_seeds(quickdraw_root, SEED + 1)[0] != torch_seed
