"""Hidden checks of the activations assignment (graded cells: test_sigmoid_tanh, test_relu_leaky,
test_elu, test_prelu, test_zero_convention, test_stability).

Values are compared with PyTorch's own functions and derivatives with autograd of those, all
computed here in the trusted process, on inputs drawn from the run's generator. The notebook asks
for every function to be written by hand: a check fails when the student's source code (read here
from the submitted notebook) reaches one of the built-ins for the functions it checks, directly,
under another name or through a construct that hides what is called.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.grading.expect import CheckFailed, check, expect, expect_close, is_tensor
from autograder.grading.handwritten import Rule, expect_written_by_hand

DTYPES = (torch.float64, torch.float32)
EXTREMES = [-1000.0, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1000.0]
# the built-ins the notebook forbids (and those that compute them in one call), and autograd
BY_HAND = Rule("written by hand (no built-in activation, no autograd)", attributes=frozenset({
    "sigmoid", "sigmoid_", "tanh", "tanh_", "relu", "relu_", "relu6", "elu", "elu_", "leaky_relu", "leaky_relu_",
    "prelu", "rrelu", "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh", "hardsigmoid",
    "hardswish", "logsigmoid", "threshold", "threshold_", "expit", "softmax", "log_softmax", "softmin", "logsumexp",
    "logaddexp", "logaddexp2", "Sigmoid", "Tanh", "ReLU", "ReLU6", "ELU", "LeakyReLU", "PReLU", "RReLU", "SELU",
    "CELU", "GELU", "SiLU", "Mish", "Softplus", "Softsign", "Hardtanh", "Hardsigmoid", "Hardswish", "LogSigmoid",
    "Threshold", "Softmax", "LogSoftmax", "autograd", "backward", "grad", "func", "jacobian", "hessian", "vjp", "jvp",
    "jacrev", "jacfwd", "vmap", "special",
}))


@pytest.fixture
def by_hand(student_code):
    """``by_hand(*names)``: fail unless the student wrote every one of ``names`` by hand."""
    return lambda *names: expect_written_by_hand(student_code, BY_HAND, names)


def tol(dtype):
    return 1e-6 if dtype == torch.float64 else 1e-5


def inputs(rng, dtype, n=200, scale=4.0, extra=(0.0,)):
    values = np.concatenate([rng.normal(0, scale, size=n), np.asarray(extra, dtype=np.float64)])
    return torch.tensor(values, dtype=dtype)


def derivative(f, z):
    """d f(z)_i / d z_i by autograd (trusted)."""
    z = z.detach().clone().requires_grad_(True)
    f(z).sum().backward()
    return z.grad


def expect_tensor_like(out, z, what):
    expect(is_tensor(out), f"{what}: expected a tensor, got {type(out).__name__}")
    expect(out.dtype == z.dtype, f"{what}: expected dtype {z.dtype}, got {out.dtype} (keep the input's dtype)")
    expect(tuple(out.shape) == tuple(z.shape), f"{what}: expected shape {tuple(z.shape)}, got {tuple(out.shape)}")


def compare(student_fn, z, expected, what, *args):
    out = student_fn(z, *args)
    expect_tensor_like(out, z, what)
    expect_close(out, expected.detach(), what, rtol=tol(z.dtype), atol=tol(z.dtype))


# -- test_sigmoid_tanh -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
@check("test_sigmoid_tanh")
def test_sigmoid_tanh(student, rng, by_hand, name):
    by_hand(name, name + "_grad")
    reference = {"sigmoid": torch.sigmoid, "tanh": torch.tanh}[name]
    for dtype in DTYPES:
        z = inputs(rng, dtype, extra=[0.0, -25.0, 25.0])
        compare(student.get(name), z, reference(z), f"{name}(z) [{dtype}]")
        compare(student.get(name + "_grad"), z, derivative(reference, z), f"{name}_grad(z) [{dtype}]")
    grid = torch.tensor(rng.normal(size=(3, 4)), dtype=torch.float64)
    compare(student.get(name), grid, reference(grid), f"{name} of a (3, 4) tensor")


# -- test_relu_leaky -------------------------------------------------------------------------

@check("test_relu_leaky")
def test_relu(student, rng, by_hand):
    by_hand("relu", "relu_grad")
    for dtype in DTYPES:
        z = inputs(rng, dtype, n=100, scale=3.0, extra=[0.0, -0.0, 1e-30, -1e-30])
        compare(student.relu, z, F.relu(z), f"relu(z) [{dtype}]")
        compare(student.relu_grad, z, derivative(F.relu, z), f"relu_grad(z) [{dtype}]")


@check("test_relu_leaky")
def test_leaky_relu(student, rng, by_hand):
    by_hand("leaky_relu")
    slope = float(rng.uniform(0.05, 0.5))
    for dtype in DTYPES:
        z = inputs(rng, dtype, n=100, scale=3.0)
        compare(student.leaky_relu, z, F.leaky_relu(z, slope), f"leaky_relu(z, {slope:.3f}) [{dtype}]", slope)
        compare(student.leaky_relu, z, F.leaky_relu(z, 0.01), f"leaky_relu(z) with the default slope [{dtype}]")


@check("test_relu_leaky")
def test_leaky_relu_grad(student, rng, by_hand):
    by_hand("leaky_relu_grad")
    slope = float(rng.uniform(0.05, 0.5))
    for dtype in DTYPES:
        z = inputs(rng, dtype, n=100, scale=3.0)
        expected = derivative(lambda t: F.leaky_relu(t, slope), z)
        compare(student.leaky_relu_grad, z, expected, f"leaky_relu_grad(z, {slope:.3f}) [{dtype}]", slope)
        compare(student.leaky_relu_grad, z, derivative(lambda t: F.leaky_relu(t, 0.01), z),
                f"leaky_relu_grad(z) with the default slope [{dtype}]")


# -- test_elu --------------------------------------------------------------------------------

@check("test_elu")
def test_elu(student, rng, by_hand):
    by_hand("elu")
    alpha = float(rng.uniform(0.2, 2.5))
    for dtype in DTYPES:
        z = inputs(rng, dtype, n=100, scale=3.0)
        compare(student.elu, z, F.elu(z, alpha), f"elu(z, {alpha:.3f}) [{dtype}]", alpha)
        compare(student.elu, z, F.elu(z), f"elu(z) with the default alpha [{dtype}]")


@check("test_elu")
def test_elu_grad(student, rng, by_hand):
    by_hand("elu_grad")
    alpha = float(rng.uniform(0.2, 2.5))
    for dtype in DTYPES:
        z = inputs(rng, dtype, n=100, scale=3.0)
        compare(student.elu_grad, z, derivative(lambda t: F.elu(t, alpha), z), f"elu_grad(z, {alpha:.3f}) [{dtype}]",
                alpha)


# -- test_prelu ------------------------------------------------------------------------------

@check("test_prelu")
def test_prelu_parameter(student, rng, by_hand):
    by_hand("PReLU")
    module = student.PReLU()
    expect("torch.nn.modules.module.Module" in module.describe()["mro"], "PReLU must be an nn.Module")
    params = list(module.parameters())
    expect(len(params) == 1, f"PReLU: expected exactly one learnable parameter, got {len(params)}")
    alpha = params[0]
    expect(tuple(alpha.shape) == (), f"PReLU.alpha: expected a 0-d parameter, got shape {tuple(alpha.shape)}")
    expect(abs(float(alpha) - 0.25) < 1e-7, f"PReLU.alpha: expected initial value 0.25, got {float(alpha)}")
    init = float(np.round(rng.uniform(0.05, 0.9), 3))
    got = float(list(student.PReLU(init=init).parameters())[0])
    expect(abs(got - init) < 1e-6, f"PReLU(init={init}).alpha: expected {init}, got {got}")


@check("test_prelu")
def test_prelu_forward(student, rng, by_hand):
    by_hand("PReLU")
    init = float(np.round(rng.uniform(0.05, 0.9), 3))
    module = student.PReLU(init=init)
    z = inputs(rng, torch.float64, n=60, scale=3.0)
    out = module(z)
    expect(is_tensor(out), f"PReLU()(z): expected a tensor, got {type(out).__name__}")
    expected = F.prelu(z, torch.tensor([init], dtype=torch.float64))
    expect_close(out.detach().double(), expected, f"PReLU(init={init})(z)", rtol=1e-6, atol=1e-6)


@check("test_prelu")
def test_prelu_grad(student, rng, by_hand):
    by_hand("prelu_grad")
    alpha = float(rng.uniform(0.05, 0.9))
    z = inputs(rng, torch.float64, n=60, scale=3.0)
    zz = z.clone().requires_grad_(True)
    a = torch.tensor(alpha, dtype=torch.float64, requires_grad=True)
    F.prelu(zz, a.reshape(1)).sum().backward()
    out = student.prelu_grad(z, alpha)
    expect(isinstance(out, tuple) and len(out) == 2, "prelu_grad(z, alpha): expected the pair (dz, dalpha)")
    dz, dalpha = out
    expect_tensor_like(dz, z, "dz")
    expect_tensor_like(dalpha, z, "dalpha")
    expect_close(dz, zz.grad, "dz of prelu_grad vs autograd", rtol=1e-6, atol=1e-6)
    expect_close(dalpha.sum(), a.grad, "sum of dalpha vs autograd's d/dalpha", rtol=1e-6, atol=1e-6)
    expect_close(dalpha, torch.where(z > 0, torch.zeros_like(z), z), "dalpha (elementwise)", rtol=1e-6, atol=1e-6)


# -- test_zero_convention --------------------------------------------------------------------

@check("test_zero_convention")
def test_zero_convention(student, rng, credit, by_hand):
    slope, alpha = float(np.round(rng.uniform(0.05, 0.5), 3)), float(np.round(rng.uniform(0.3, 2.0), 3))
    cases = {}  # case name -> (function, arguments, which output (None: the value itself), expected)
    for dtype in DTYPES:
        zero, tag = torch.zeros(3, dtype=dtype), str(dtype).replace("torch.", "")
        cases[f"relu_grad(0) [{tag}]"] = ("relu_grad", (zero,), None, 0.0)
        cases[f"leaky_relu_grad(0, {slope}) [{tag}]"] = ("leaky_relu_grad", (zero, slope), None, slope)
        cases[f"elu_grad(0, {alpha}) [{tag}]"] = ("elu_grad", (zero, alpha), None, alpha)
        cases[f"prelu_grad(0, {alpha}) dz [{tag}]"] = ("prelu_grad", (zero, alpha), 0, alpha)
        cases[f"prelu_grad(0, {alpha}) dalpha [{tag}]"] = ("prelu_grad", (zero, alpha), 1, 0.0)
    credit.cases(cases)
    for what, (name, args, index, expected) in cases.items():
        with credit.case(what):
            by_hand(name)
            got = student.call(name, *args)
            if index is not None:
                expect(isinstance(got, tuple) and len(got) == 2, f"{what}: expected the pair (dz, dalpha)")
                got = got[index]
            expect(is_tensor(got) and tuple(got.shape) == (3,),
                   f"{what}: expected a tensor of shape (3,), got {type(got).__name__}")
            expect(torch.allclose(got.double(), torch.full((3,), expected, dtype=torch.float64), rtol=0,
                                  atol=tol(args[0].dtype)), f"{what}: expected {expected}, got {got.tolist()}")
    if credit.failures:
        raise CheckFailed("derivatives at z = 0 must follow the convention (the left-hand derivative, as "
                          "autograd): " + credit.message)


# -- test_stability --------------------------------------------------------------------------

NAMES = ["sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad", "leaky_relu", "leaky_relu_grad",
         "elu", "elu_grad"]


@check("test_stability")
def test_stable_values(student, by_hand):
    by_hand(*NAMES)
    references = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu, "leaky_relu": F.leaky_relu,
                  "elu": F.elu}
    for dtype in DTYPES:
        z = torch.linspace(-1000, 1000, 2001, dtype=dtype)
        z = torch.cat([z, torch.tensor(EXTREMES, dtype=dtype)])
        for name in NAMES:
            out = student.get(name)(z)
            expect_tensor_like(out, z, f"{name} on |z| <= 1000 [{dtype}]")
            expect(bool(torch.isfinite(out).all()),
                   f"{name}: inf or nan at z = {z[~torch.isfinite(out)][:3].tolist()} [{dtype}]")
            base = name.removesuffix("_grad")
            expected = references[base](z) if base == name else derivative(references[base], z)
            expect_close(out, expected, f"{name} on |z| <= 1000 [{dtype}]", rtol=tol(dtype), atol=tol(dtype))


@check("test_stability")
def test_stable_autograd(student, by_hand):
    by_hand("sigmoid", "tanh", "elu")
    z = torch.tensor(EXTREMES, dtype=torch.float64)
    for name, reference in (("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("elu", F.elu)):
        out = student.autograd(name, z)
        expect(isinstance(out, tuple) and len(out) == 2, "autograd through your function failed")
        expect(bool(torch.isfinite(out[1]).all()),
               f"autograd through {name} gives inf/nan at z = {z[~torch.isfinite(out[1])].tolist()}")
        # z = 0 included: sigmoid'(0) = 1/4 and tanh'(0) = 1 (an abs/sign construction gives 0 there)
        expect_close(out[1], derivative(reference, z), f"autograd through {name} at |z| up to 1000, z = 0 included",
                     rtol=1e-6, atol=1e-6)
