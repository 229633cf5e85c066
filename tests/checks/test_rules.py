"""Fast tests of what the hidden checks build on, without a sandbox: the "written by hand" /
"NumPy only" rules read from source (every way of reaching a forbidden built-in), partial credit
that counts unjudged cases as failed, the kernel's seed, and the student-code fixture's sources."""

from __future__ import annotations

import nbformat
import pytest

from autograder import paths
from autograder.grading.assignments import get_assignment
from autograder.grading.expect import CheckFailed, Credit
from autograder.grading.grader import kernel_seed, prelude, student_code
from autograder.grading.handwritten import EVERYTHING, Rule, expect_written_by_hand, tainted
from autograder.grading.notebook import restore_locked_cells
from autograder.proxy.errors import SandboxGone, StudentError

BY_HAND = Rule("written by hand", attributes=frozenset({"sigmoid", "tanh", "relu", "Sigmoid", "Tanh", "autograd"}))
NUMPY_ONLY = Rule("NumPy only", modules=frozenset({"torch", "jax"}))
HONEST = '''
def sigmoid(z):
    """Logistic sigmoid, not torch.sigmoid."""
    e = torch.exp(-z.abs())
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))

def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 - s)

class PReLU(nn.Module):
    def __init__(self, init=0.25):
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(float(init)))

    def forward(self, z):
        return torch.where(z > 0, z, self.alpha * z)

print(type(ValueError()).__name__)
'''


def test_honest_code_breaks_no_rule():
    assert tainted([HONEST, "import os, sys\nprint('x', file=sys.stderr)"], BY_HAND) == {}
    # getattr of a literal public name is plain attribute access; dir() and input() reach nothing
    careless = ("def act(layer, z):\n    return getattr(layer, 'forward')(z)\n"
                "print(dir(), input() if False else '')\nresults = {}\nresults['a'] = act")
    assert tainted([HONEST, careless], BY_HAND) == {}
    assert tainted(["import numpy as np\ndef f(x):\n    return np.tanh(x)"], NUMPY_ONLY) == {}


@pytest.mark.parametrize("sources, name", [
    (["def sigmoid(z):\n    return torch.sigmoid(z)"], "sigmoid"),                        # direct
    (["def sigmoid(z):\n    return z.sigmoid()"], "sigmoid"),                             # tensor method
    (["from torch import sigmoid as s", "def sigmoid(z):\n    return s(z)"], "sigmoid"),  # aliased
    (["import torch.nn.functional as G\nact = G.relu", "def relu(z):\n    return act(z)"], "relu"),
    (["def tanh(z):\n    return torch.nn.Tanh()(z)"], "tanh"),                           # module object
    (["sigmoid = lambda z: torch.special.expit(z) if False else torch.sigmoid(z)"], "sigmoid"),
    (["t = torch.tanh\nu = t", "def tanh(z):\n    return u(z)"], "tanh"),                # through names
    (["def sigmoid(z):\n    return torch.sigmoid(z)", "def sigmoid_grad(z):\n    return sigmoid(z) * (1 - sigmoid(z))"],
     "sigmoid_grad"),                                                                      # calls a tainted one
    (["def sigmoid(z):\n    return getattr(torch, 'sigmoid')(z)"], "sigmoid"),        # getattr, literal name
    (["def sigmoid_grad(z):\n    z = z.requires_grad_()\n    return torch.autograd.grad(z.sum(), z)[0]"],
     "sigmoid_grad"),                                                                      # autograd
])
def test_forbidden_built_ins_are_found_however_they_are_named(sources, name):
    bad = tainted(sources, BY_HAND)
    assert name in bad and EVERYTHING not in bad, bad
    with pytest.raises(CheckFailed, match=f"{name} must be written by hand"):
        expect_written_by_hand(sources, BY_HAND, [name])
    expect_written_by_hand(sources, BY_HAND, ["some_other_function"])


@pytest.mark.parametrize("source", [
    "def sigmoid(z):\n    return getattr(torch, 'sig' + 'moid')(z)",
    "def relu(z):\n    return eval('F.re' + 'lu')(z)",
    "exec('def relu(z): return F.relu(z)')",
    "def relu(z):\n    return vars(F)['re' + 'lu'](z)",
    "def relu(z):\n    return F.__dict__['re' + 'lu'](z)",
    "def relu(z):\n    return __import__('torch').relu(z)",
    "import importlib\nrelu = importlib.import_module('torch.nn.functional').relu",
    "from operator import attrgetter\nrelu = attrgetter('re' + 'lu')(F)",
    "torch.exp = torch.sigmoid",                                           # monkeypatching an allowed op
    "setattr(torch, 'exp', None)",
    "from torch.nn.functional import *",
    "%run helper.py",                                                      # IPython magic
    "import sys\nrelu = sys._getframe().f_globals['__builtins__']",
])
def test_constructs_that_hide_what_they_call_taint_everything(source):
    assert EVERYTHING in tainted([source, "def relu(z):\n    return z"], BY_HAND)
    with pytest.raises(CheckFailed):
        expect_written_by_hand([source], BY_HAND, ["anything"])


def test_numpy_only_rule_finds_forbidden_imports_anywhere():
    inside = "def backward(params, X, Y):\n    import torch\n    return {}"
    assert set(tainted([inside, "def train_step(p):\n    return backward(p, 1, 2)"], NUMPY_ONLY)) == \
        {"backward", "train_step"}
    assert "f" in tainted(["from jax import grad\ndef f(x):\n    return grad(x)"], NUMPY_ONLY)
    assert tainted(["def f(x) return x"], NUMPY_ONLY) == {}  # a cell that does not parse never ran


def test_credit_counts_unjudged_and_garbage_cases_as_failed():
    credit = Credit()
    credit.cases(["a", "b", "c", "d", "e"])
    with credit.case("a"):
        pass
    with credit.case("b"):
        raise CheckFailed("b: expected 0")
    with credit.case("c"):
        raise StudentError("TypeError", "bad")
    with credit.case("d"):
        [].shape  # noqa: B018 - a garbage object makes the check's own code fail: that case fails
    assert credit.fraction == pytest.approx(1 / 5)  # "e" was never judged
    assert "4 of 5 cases failed" in credit.message and "e: not evaluated" in " ".join(credit.failures)
    with pytest.raises(RuntimeError), credit.case("a"):  # judged twice
        pass
    with pytest.raises(SandboxGone), credit.case("e"):
        raise SandboxGone("gone")
    assert credit.fraction == pytest.approx(1 / 5)
    measured = Credit()
    measured.set(float("nan"))
    assert measured.fraction == 0.0


def test_the_kernel_seed_is_a_labelled_one_way_function_of_the_run_seed():
    seeds = [kernel_seed(s) for s in range(20)]
    assert len(set(seeds)) == 20 and all(0 <= k < 2**63 and k not in range(20) for k in seeds)
    assert kernel_seed(5) == kernel_seed(5)
    text = prelude(424242, get_assignment("xor"))
    assert "424242" not in text and str(kernel_seed(424242)) in text


def test_student_code_is_every_code_cell_but_the_released_read_only_ones():

    spec = get_assignment("activations")
    released = nbformat.read(spec.release_notebook(paths.course_root()), as_version=4)
    solution = nbformat.read(spec.solution_notebook(paths.course_root()), as_version=4)
    solution.cells.append(nbformat.v4.new_code_cell("extra = torch.sigmoid"))
    tampered = next(c for c in solution.cells if c.metadata.get("nbgrader", {}).get("locked") and c.cell_type == "code")
    tampered.source = "sigmoid = torch.sigmoid"  # a read-only cell rewritten: restored, so not student code
    sources = student_code(restore_locked_cells(solution, released), released)
    solutions = [c.source for c in solution.cells if c.metadata.get("nbgrader", {}).get("solution")
                 and c.cell_type == "code"]
    assert sources == solutions + ["extra = torch.sigmoid"]
