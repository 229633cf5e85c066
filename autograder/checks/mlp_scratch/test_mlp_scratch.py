"""Hidden checks of the mlp_scratch assignment (graded cells: test_forward, test_backward,
test_gradient_check, test_train_step, test_softmax_ce, test_train_quickdraw, test_zero_init).

Gradients are compared with the reference solution on random weights and inputs in float64
(relative error <= 1e-7, defined as in lecture 05); the trained parameters (plain arrays) are scored here, with the
reference forward pass, on held-out QuickDraw drawings the student's code never sees, and they
must be what the read-only training cell gives: the reference ``fit`` is rerun here from the same
start. The notebook allows NumPy only: a check fails when the student's source code (read here
from the submitted notebook) brings in PyTorch, autograd and the like for the functions it checks.
"""

import numpy as np
import pytest

from autograder.grading.expect import (
    CheckFailed,
    check,
    expect,
    expect_close,
    expect_float,
    expect_relative_error,
    expect_same_update,
)
from autograder.grading.handwritten import Rule, expect_written_by_hand

KEYS = ("W1", "b1", "W2", "b2")
GRAD_TOL = 1e-7  # the notebook's bar (relative error as in lecture 05: ||a - b|| / max(||a||, ||b||))
BAR = 0.88  # held-out accuracy for full credit (the notebook states the same 88 %, on validation)
NUMPY_ONLY = Rule("written with NumPy only (no PyTorch, no autograd)", modules=frozenset({
    "torch", "torchvision", "jax", "jaxlib", "autograd", "tensorflow", "keras", "sklearn", "scipy", "mxnet",
    "theano", "flax", "optax", "chainer", "cupy", "numba", "sympy",
}))


@pytest.fixture
def numpy_only(student_code):
    """``numpy_only(*names)``: fail unless every one of ``names`` is written with NumPy only."""
    return lambda *names: expect_written_by_hand(student_code, NUMPY_ONLY, names)


def random_problem(rng, n=None, n_in=None, n_hidden=None, n_out=None, onehot=False):
    n, n_in = n or int(rng.integers(1, 9)), n_in or int(rng.integers(2, 7))
    n_hidden, n_out = n_hidden or int(rng.integers(2, 7)), n_out or int(rng.integers(1, 5))
    params = {"W1": rng.normal(size=(n_in, n_hidden)), "b1": rng.normal(size=n_hidden),
              "W2": rng.normal(size=(n_hidden, n_out)), "b2": rng.normal(size=n_out)}
    X = rng.normal(size=(n, n_in))
    Y = np.eye(n_out)[rng.integers(0, n_out, size=n)] if onehot else rng.uniform(size=(n, n_out))
    return params, X, Y


def expect_params_dict(value, what, keys):
    expect(isinstance(value, dict), f"{what}: expected a dict, got {type(value).__name__}")
    expect(sorted(value) == sorted(keys), f"{what}: expected the keys {sorted(keys)}, got {sorted(map(str, value))}")
    return value


# -- test_forward ---------------------------------------------------------------------------

@check("test_forward")
def test_sigmoid(student, reference, rng, numpy_only):
    numpy_only("sigmoid")
    z = np.concatenate([rng.normal(0, 10, size=100), [-1e4, -1000.0, -30.0, 0.0, 30.0, 1000.0, 1e4]])
    expect_close(student.sigmoid(z), reference.sigmoid(z), "sigmoid(z) for |z| up to 1e4", rtol=1e-12, atol=1e-300,
                 kind="ndarray")
    grid = rng.normal(size=(3, 4))
    expect_close(student.sigmoid(grid), reference.sigmoid(grid), "sigmoid of a (3, 4) array", rtol=1e-12,
                 kind="ndarray")


@check("test_forward")
def test_init_params(student, reference, rng, numpy_only):
    numpy_only("init_params")
    n_in, n_hidden, n_out = (int(v) for v in rng.integers(2, 30, size=3))
    seed, scale = int(rng.integers(10_000)), float(rng.uniform(0.05, 2.0))
    got = expect_params_dict(student.init_params(n_in, n_hidden, n_out, seed=seed, scale=scale),
                             "init_params(...)", KEYS)
    expected = reference.init_params(n_in, n_hidden, n_out, seed=seed, scale=scale)
    for key in ("b1", "b2"):
        expect_close(got[key], expected[key], f"init_params: {key} (biases start at zero)", atol=0, kind="ndarray",
                     dtype=np.float64)
    for key in ("W1", "W2"):
        expect_close(got[key], expected[key], f"init_params(..., seed={seed}, scale={scale:.3f}): {key} "
                     "(drawn with np.random.default_rng(seed), W1 first)", rtol=1e-9, atol=1e-12,
                     kind="ndarray", dtype=np.float64)


@check("test_forward")
def test_forward_and_loss(student, reference, rng, numpy_only):
    numpy_only("forward", "mse_loss")
    params, X, Y = random_problem(rng)
    out = student.forward(params, X)
    expect(isinstance(out, tuple) and len(out) == 2, "forward(params, X): expected the pair (Y_hat, cache)")
    Y_hat, cache = out
    ref_Y_hat, ref_cache = reference.forward(params, X)
    expect_close(Y_hat, ref_Y_hat, "forward: Y_hat", rtol=1e-9, atol=1e-12, kind="ndarray")
    expect(isinstance(cache, dict), f"forward: the cache must be a dict, got {type(cache).__name__}")
    for key in ("Z1", "H", "Z2"):
        expect(key in cache, f"forward: the cache has no {key!r}")
        expect_close(cache[key], ref_cache[key], f"forward: cache[{key!r}]", rtol=1e-9, atol=1e-12, kind="ndarray")
    loss = expect_float(student.mse_loss(ref_Y_hat, Y), "mse_loss(Y_hat, Y)")
    expected = reference.mse_loss(ref_Y_hat, Y)
    expect(abs(loss - expected) <= 1e-12 + 1e-9 * abs(expected), f"mse_loss: expected {expected:.10g}, got {loss:.10g}")


# -- test_backward (one check per gradient) -------------------------------------------------

@pytest.mark.parametrize("key", ["dW1", "db1", "dW2", "db2"])
@check("test_backward")
def test_backward(student, reference, rng, key, numpy_only):
    numpy_only("backward")
    for shape in [(5, 4, 3, 2), (1, 3, 6, 1), tuple(int(v) for v in rng.integers(1, 8, size=4))]:
        params, X, Y = random_problem(rng, *shape)
        before = {k: v.copy() for k, v in params.items()}
        grads = expect_params_dict(student.backward(params, X, Y), "backward(params, X, Y)",
                                   ["dW1", "db1", "dW2", "db2"])
        expected = reference.backward(before, X, Y)
        expect_relative_error(grads[key], expected[key], f"backward: {key} for N={shape[0]}, n_in={shape[1]}, "
                              f"n_hidden={shape[2]}, n_out={shape[3]}", GRAD_TOL, kind="ndarray")


# -- test_gradient_check --------------------------------------------------------------------

@check("test_gradient_check")
def test_numerical_gradient(student, reference, rng, numpy_only):
    numpy_only("numerical_gradient")
    params, X, Y = random_problem(rng, n=4, n_in=3, n_hidden=3, n_out=2)
    before = {k: v.copy() for k, v in params.items()}
    grads = expect_params_dict(student.numerical_gradient(params, X, Y), "numerical_gradient(params, X, Y)",
                               ["dW1", "db1", "dW2", "db2"])
    expected = reference.backward(before, X, Y)
    for key in expected:
        expect_relative_error(grads[key], expected[key], f"numerical_gradient: {key} vs the exact gradient", GRAD_TOL,
                              kind="ndarray")
    # at a large eps centered differences differ from the exact gradient: they must be computed
    eps = float(rng.uniform(0.3, 0.6))
    coarse = expect_params_dict(student.numerical_gradient(params, X, Y, eps=eps),
                                f"numerical_gradient(..., eps={eps:.3f})", ["dW1", "db1", "dW2", "db2"])
    expected = reference.numerical_gradient({k: v.copy() for k, v in before.items()}, X, Y, eps=eps)
    for key in expected:
        expect_relative_error(coarse[key], expected[key], f"numerical_gradient(..., eps={eps:.3f}): {key} vs "
                              "centered differences with that eps", 1e-9, kind="ndarray")


@check("test_gradient_check")
def test_relative_error(student, reference, rng, numpy_only):
    numpy_only("relative_error")
    cases = [(np.zeros(4), np.zeros(4)), (np.ones(3), np.ones(3))]
    cases += [(rng.normal(size=(3, 2)), rng.normal(size=(3, 2))) for _ in range(3)]
    base = rng.normal(size=5)
    cases.append((base, base * (1 + 1e-7)))
    for a, b in cases:
        got = expect_float(student.relative_error(a, b), "relative_error(a, b)")
        expected = reference.relative_error(a, b)
        expect(abs(got - expected) <= 1e-12 + 1e-9 * abs(expected),
               f"relative_error for arrays of shape {a.shape}: expected {expected:.6g}, got {got:.6g}")


# -- test_train_step ------------------------------------------------------------------------

@check("test_train_step")
def test_sgd_step(student, reference, rng, numpy_only):
    numpy_only("sgd_step")
    params, _, _ = random_problem(rng)
    grads = {"d" + k: rng.normal(size=v.shape) for k, v in params.items()}
    lr = float(rng.uniform(0.01, 2.0))
    before = {k: v.copy() for k, v in params.items()}
    new = expect_params_dict(student.sgd_step(params, grads, lr), "sgd_step(params, grads, lr)", KEYS)
    expected = reference.sgd_step(before, grads, lr)
    for key in KEYS:
        expect_close(new[key], expected[key], f"sgd_step: {key}", rtol=1e-12, atol=1e-12, kind="ndarray")


@check("test_train_step")
def test_train_step(student, reference, rng, numpy_only):
    numpy_only("train_step")
    params, X, Y = random_problem(rng, n=10)
    lr = 0.5
    out = student.train_step(params, X, Y, lr)
    expect(isinstance(out, tuple) and len(out) == 2, "train_step: expected the pair (new params, loss before)")
    new, loss = out
    expected_new, expected_loss = reference.train_step(params, X, Y, lr)
    loss = expect_float(loss, "train_step: the loss")
    expect(abs(loss - expected_loss) <= 1e-9 * max(1.0, abs(expected_loss)),
           f"train_step: expected the loss before the step {expected_loss:.8g}, got {loss:.8g}")
    expect_params_dict(new, "train_step: new params", KEYS)
    for key in KEYS:
        expect_close(new[key], expected_new[key], f"train_step: new {key}", rtol=1e-8, atol=1e-10, kind="ndarray")
    after = reference.mse_loss(reference.forward(new, X)[0], Y)
    expect(after < expected_loss, f"a training step must lower the loss ({expected_loss:.5f} -> {after:.5f})")


# -- test_softmax_ce ------------------------------------------------------------------------

@check("test_softmax_ce")
def test_softmax(student, reference, rng, numpy_only):
    numpy_only("softmax")
    Z = rng.normal(0, 5, size=(6, 4))
    expect_close(student.softmax(Z), reference.softmax(Z), "softmax(Z)", rtol=1e-9, atol=1e-12, kind="ndarray")
    big = np.array([[1000.0, 0.0, -1000.0], [-800.0, -800.0, 5.0]])
    expect_close(student.softmax(big), reference.softmax(big), "softmax of entries up to |1000|", rtol=1e-9,
                 atol=1e-12, kind="ndarray")


@check("test_softmax_ce")
def test_cross_entropy(student, reference, rng, numpy_only):
    numpy_only("cross_entropy")
    P = reference.softmax(rng.normal(size=(7, 3)))
    Y = np.eye(3)[rng.integers(0, 3, size=7)]
    got = expect_float(student.cross_entropy(P, Y), "cross_entropy(Y_hat, Y)")
    expected = reference.cross_entropy(P, Y)
    expect(abs(got - expected) <= 1e-10 * max(1.0, abs(expected)),
           f"cross_entropy: expected {expected:.10g}, got {got:.10g}")


@check("test_softmax_ce")
def test_backward_softmax_ce(student, reference, rng, numpy_only):
    numpy_only("backward_softmax_ce")
    for _ in range(2):
        params, X, Y = random_problem(rng, onehot=True)
        grads = expect_params_dict(student.backward_softmax_ce(params, X, Y), "backward_softmax_ce(params, X, Y)",
                                   ["dW1", "db1", "dW2", "db2"])
        expected = reference.backward_softmax_ce(params, X, Y)
        for key in expected:
            expect_relative_error(grads[key], expected[key], f"backward_softmax_ce: {key}", GRAD_TOL, kind="ndarray")


# -- test_train_quickdraw -------------------------------------------------------------------

@pytest.fixture(scope="module")
def heldout(grading):
    with np.load(grading.data_root / "instructor" / "homework_heldout.npz", allow_pickle=False) as data:
        return data["images"].reshape(len(data["images"]), -1).astype(np.float64) / 255.0, data["labels"]


@pytest.fixture(scope="module")
def trained_here(student, reference, grading):
    """The read-only cell test_train_quickdraw redone here with the reference functions, from the
    start the cell uses, the student's init_params(784, 32, 3, seed=0): name -> (start, expected)."""
    start = expect_params_dict(student.init_params(784, 32, 3, seed=0), "init_params(784, 32, 3, seed=0)", KEYS)
    for key in KEYS:
        expect(isinstance(start[key], np.ndarray) and start[key].dtype == np.float64, f"start[{key!r}]: not float64")
    folder = grading.data_root / "homework"
    X_train, labels_train = reference.load_quickdraw(folder, "train")
    X_valid, labels_valid = reference.load_quickdraw(folder, "valid")
    Y_train = np.eye(3)[labels_train]
    runs = {"params_mse": (reference.train_step, reference.predict_mse, 2.0),
            "params_ce": (reference.train_step_ce, reference.forward_softmax, 0.5)}
    with np.errstate(all="ignore"):
        return {name: (start, reference.fit({k: v.copy() for k, v in start.items()}, step, predict, X_train, Y_train,
                                            X_valid, labels_valid, lr=lr)[0])
                for name, (step, predict, lr) in runs.items()}


TRAINED_BY = {"params_mse": ("train_step", "sgd_step", "backward", "forward", "mse_loss", "sigmoid", "init_params"),
              "params_ce": ("softmax", "cross_entropy", "backward_softmax_ce", "sgd_step", "sigmoid", "init_params")}


@pytest.mark.parametrize("name, predict", [("params_mse", "predict_mse"), ("params_ce", "forward_softmax")])
@check("test_train_quickdraw")
def test_trained_network(student, reference, heldout, name, predict, credit, numpy_only, trained_here):
    numpy_only(name, *TRAINED_BY[name])
    images, labels = heldout
    params = expect_params_dict(student.get(name), name, KEYS)
    shapes = {"W1": (784, 32), "b1": (32,), "W2": (32, 3), "b2": (3,)}
    for key, shape in shapes.items():
        value = params[key]
        expect(isinstance(value, np.ndarray) and value.shape == shape and value.dtype.kind == "f",
               f"{name}[{key!r}]: unexpected shape {getattr(value, 'shape', None)}")
    start, expected = trained_here[name]
    expect_same_update(start, params, expected, f"{name} (trained by the read-only cell with your functions)", 1e-4)
    with np.errstate(all="ignore"):
        accuracy = float(np.mean(getattr(reference, predict)(params, images).argmax(axis=1) == labels))
    if accuracy < BAR:
        credit.set(max(0.0, (accuracy - 0.5) / (BAR - 0.5)), f"{name}: held-out accuracy {accuracy:.3f} < {BAR}")
        raise CheckFailed(f"{name}: expected held-out accuracy >= {BAR}, got {accuracy:.3f}")


# -- test_zero_init -------------------------------------------------------------------------

@check("test_zero_init")
def test_init_zeros(student, rng, numpy_only):
    numpy_only("init_zeros")
    n_in, n_hidden, n_out = (int(v) for v in rng.integers(2, 9, size=3))
    got = expect_params_dict(student.init_zeros(n_in, n_hidden, n_out), "init_zeros(...)", KEYS)
    shapes = {"W1": (n_in, n_hidden), "b1": (n_hidden,), "W2": (n_hidden, n_out), "b2": (n_out,)}
    for key, shape in shapes.items():
        expect_close(got[key], np.zeros(shape), f"init_zeros: {key}", atol=0, kind="ndarray", dtype=np.float64)


@check("test_zero_init")
def test_hidden_unit_spread(student, reference, rng, numpy_only):
    numpy_only("hidden_unit_spread")
    params, _, _ = random_problem(rng, n_hidden=5)
    equal = {"W1": np.tile(rng.normal(size=(4, 1)), (1, 3)), "b1": np.full(3, 0.5),
             "W2": np.tile(rng.normal(size=(1, 2)), (3, 1)), "b2": rng.normal(size=2)}
    for what, p in (("random params", params), ("params with equal units", equal)):
        got = expect_float(student.hidden_unit_spread(p), f"hidden_unit_spread({what})")
        expected = reference.hidden_unit_spread(p)
        expect(abs(got - expected) <= 1e-12, f"hidden_unit_spread({what}): expected {expected:.6g}, got {got:.6g}")


@check("test_zero_init")
def test_zero_init_symmetry(student, reference, rng, numpy_only):
    numpy_only("init_zeros", "train_step")
    X = rng.normal(size=(20, 6))
    Y = np.eye(3)[rng.integers(0, 3, size=20)]
    params = student.init_zeros(6, 4, 3)
    for _ in range(5):
        out = student.train_step(params, X, Y, 2.0)
        expect(isinstance(out, tuple) and len(out) == 2, "train_step: expected the pair (new params, loss before)")
        params = expect_params_dict(out[0], "train_step from zeros", KEYS)
    spread = reference.hidden_unit_spread(params)
    moved = float(np.abs(params["W2"]).max())
    expect(moved > 1e-4, "training from zeros: the output weights did not move")
    expect(spread <= 1e-10, f"training from zeros: hidden units must stay identical, spread {spread:.3g}")
