"""Hidden checks of the xor assignment (graded cells: test_make_xor_data, test_xor_net_structure,
test_xor_net_forward, test_train_xor, test_trained_models)."""

import numpy as np
import torch

from autograder.grading.expect import CheckFailed, check, expect, expect_close, expect_float, is_tensor
from autograder.proxy.errors import StudentError


def random_state(rng, hidden):
    """A state dict for XORNet(hidden) with weights drawn from ``rng``."""
    shapes = {"hidden.weight": (hidden, 2), "hidden.bias": (hidden,), "output.weight": (2, hidden), "output.bias": (2,)}
    return {k: torch.tensor(rng.normal(0, 1, size=s), dtype=torch.float32) for k, s in shapes.items()}


def student_net(student, rng, hidden, activation):
    """The student's XORNet with the given random weights loaded."""
    state = random_state(rng, hidden)
    net = student.XORNet(hidden=hidden, activation=activation)
    net.load_state_dict(state)
    return net, state


def reference_net(reference, state, hidden, activation):
    net = reference.XORNet(hidden=hidden, activation=activation)
    net.load_state_dict(state)
    return net


def forward_pair(out, what):
    expect(isinstance(out, tuple) and len(out) == 2,
           f"{what}: forward must return the pair (logits, probs), got {type(out).__name__}")
    expect(is_tensor(out[0]) and is_tensor(out[1]), f"{what}: logits and probs must be tensors")
    return out


def predictions(model, X):
    logits, _ = forward_pair(model(X), "model(X)")
    expect(tuple(logits.shape) == (len(X), 2), f"model(X): expected logits of shape {(len(X), 2)}, got {tuple(logits.shape)}")
    return logits.argmax(dim=1)


# -- test_make_xor_data (2 points) ------------------------------------------------------------

@check("test_make_xor_data", 1)
def test_make_xor_data_shapes_and_corners(student, rng):
    n = int(rng.integers(2, 9))
    X, y = student.make_xor_data(n_per_corner=n, noise=0.0, seed=int(rng.integers(1000)))
    X = expect_close(X, np.repeat([[0, 0], [0, 1], [1, 0], [1, 1]], n, axis=0), "X with noise=0", atol=1e-6,
                     kind="tensor", dtype=np.float32)
    expect_close(y, np.repeat([0, 1, 1, 0], n), "y", atol=0, kind="tensor", dtype=np.int64)


@check("test_make_xor_data", 1)
def test_make_xor_data_seed_and_noise(student, rng):
    seed = int(rng.integers(10_000))
    a = student.make_xor_data(n_per_corner=500, noise=0.2, seed=seed)[0]
    b = student.make_xor_data(n_per_corner=500, noise=0.2, seed=seed)[0]
    c = student.make_xor_data(n_per_corner=500, noise=0.2, seed=seed + 1)[0]
    a = expect_close(a, b, "X for the same seed twice", atol=0, kind="tensor")
    expect(not np.array_equal(a, c.numpy()), "X: a different seed must give different points")
    corners = np.repeat([[0, 0], [0, 1], [1, 0], [1, 1]], 500, axis=0)
    spread = float((a - corners).std())
    expect(abs(spread - 0.2) < 0.02, f"noise: expected standard deviation 0.2 (tolerance 0.02), got {spread:.3f}")


# -- test_xor_net_structure (2 points) ---------------------------------------------------------

@check("test_xor_net_structure", 1)
def test_xor_net_layers(student, rng):
    hidden = int(rng.integers(3, 12))
    for activation in ("relu", "linear"):
        net = student.XORNet(hidden=hidden, activation=activation)
        for name, shape in (("hidden", (2, hidden)), ("output", (hidden, 2))):
            layer = getattr(net, name)
            expect("torch.nn.modules.linear.Linear" in layer.describe()["mro"],
                   f"XORNet.{name}: expected an nn.Linear, got {layer.type_name}")
            expect((layer.in_features, layer.out_features) == shape,
                   f"XORNet.{name}: expected nn.Linear{shape}, got nn.Linear({layer.in_features}, {layer.out_features})")
        count = sum(int(p.numel()) for p in net.parameters())
        expected = 2 * hidden + hidden + hidden * 2 + 2
        expect(count == expected, f"XORNet(hidden={hidden}): expected {expected} parameters, got {count}")
    try:
        student.XORNet(activation="tanh")
    except StudentError as exc:
        expect(exc.type_name == "ValueError", f"XORNet(activation='tanh'): expected ValueError, got {exc.type_name}")
    else:
        raise CheckFailed("XORNet(activation='tanh'): expected ValueError, nothing was raised")


@check("test_xor_net_structure", 1)
def test_xor_net_linear_vs_relu(student, reference, rng):
    hidden = 6
    x = torch.tensor(rng.normal(0, 2, size=(32, 2)), dtype=torch.float32)
    for activation in ("linear", "relu"):
        net, state = student_net(student, rng, hidden, activation)
        expected = reference_net(reference, state, hidden, activation)(x)[0].detach()
        logits, _ = forward_pair(net(x), f"XORNet(activation={activation!r})(x)")
        expect_close(logits, expected, f"logits of the {activation} net with given weights", rtol=1e-4, atol=1e-5)


# -- test_xor_net_forward (2 points) -----------------------------------------------------------

@check("test_xor_net_forward", 1)
def test_forward_matches_reference(student, reference, rng):
    for activation in ("relu", "linear"):
        hidden = int(rng.integers(2, 10))
        net, state = student_net(student, rng, hidden, activation)
        x = torch.tensor(rng.normal(0.5, 1, size=(int(rng.integers(1, 40)), 2)), dtype=torch.float32)
        logits, probs = forward_pair(net(x), "XORNet forward")
        ref_logits, ref_probs = reference_net(reference, state, hidden, activation)(x)
        expect_close(logits, ref_logits.detach(), f"logits ({activation})", rtol=1e-4, atol=1e-5, kind="tensor")
        expect_close(probs, ref_probs.detach(), f"probs ({activation})", rtol=1e-4, atol=1e-6, kind="tensor")


@check("test_xor_net_forward", 1)
def test_forward_probabilities(student, rng):
    net, _ = student_net(student, rng, 5, "relu")
    x = torch.tensor(rng.normal(0, 1, size=(20, 2)) * 1e4, dtype=torch.float32)
    _, probs = forward_pair(net(x), "XORNet forward on large inputs")
    expect_close(probs.sum(dim=1), np.ones(20), "row sums of probs for inputs of size 1e4", atol=1e-5)
    expect(bool((probs >= 0).all()), "probs: every probability must be >= 0")
    _, empty = forward_pair(net(torch.zeros(0, 2)), "XORNet forward on an empty batch")
    expect(tuple(empty.shape) == (0, 2), f"probs of an empty batch: expected shape (0, 2), got {tuple(empty.shape)}")


# -- test_train_xor (3 points) -----------------------------------------------------------------

@check("test_train_xor", 1)
def test_train_xor_losses(student, reference, rng):
    X, y = reference.make_xor_data(n_per_corner=25, noise=0.1, seed=int(rng.integers(1000)))
    net, _ = student_net(student, rng, 8, "relu")
    epochs = 60
    losses = student.train_xor(net, X, y, epochs=epochs, lr=0.05, seed=int(rng.integers(1000)))
    expect(type(losses) is list and len(losses) == epochs,
           f"train_xor: expected a list of {epochs} losses, got {type(losses).__name__} of length "
           f"{len(losses) if hasattr(losses, '__len__') else '?'}")
    expect(all(type(v) is float for v in losses), "train_xor: every loss must be a Python float")
    expect(losses[-1] < 0.5 * losses[0], f"train_xor: the loss must fall to under half, got {losses[0]:.3f} -> {losses[-1]:.3f}")
    acc = (predictions(net, X) == y).float().mean().item()
    expect(acc >= 0.95, f"after train_xor the ReLU net must fit the data: accuracy {acc:.3f} < 0.95")


@check("test_train_xor", 1)
def test_train_xor_reproducible(student, reference, rng):
    X, y = reference.make_xor_data(n_per_corner=10, noise=0.1, seed=3)
    seed = int(rng.integers(1000))
    runs = []
    for _ in range(2):
        net, _ = student_net(student, np.random.default_rng(seed), 4, "relu")
        runs.append(student.train_xor(net, X, y, epochs=5, lr=0.01, seed=seed))
    expect(runs[0] == runs[1], "train_xor: the same start and seed must give exactly the same losses")
    net, _ = student_net(student, rng, 4, "relu")
    other = student.train_xor(net, X, y, epochs=3, lr=0.01, seed=seed, batch_size=7)
    expect(type(other) is list and len(other) == 3, "train_xor(..., epochs=3, batch_size=7): expected 3 losses")


@check("test_train_xor", 1)
def test_accuracy(student, reference, rng):
    X, y = reference.make_xor_data(n_per_corner=10, noise=0.3, seed=int(rng.integers(1000)))
    X, y = X[:25], y[:25]  # an odd count: accuracy can never be 1/2, so acc != 1 - acc
    net, _ = student_net(student, rng, 5, "relu")
    expected = (predictions(net, X) == y).float().mean().item()
    got = expect_float(student.accuracy(net, X, y), "accuracy(model, X, y)")
    expect(abs(got - expected) < 1e-6, f"accuracy(model, X, y): expected {expected:.4f}, got {got:.4f}")
    flipped = expect_float(student.accuracy(net, X, 1 - y), "accuracy(model, X, 1 - y)")
    expect(abs(flipped - (1 - expected)) < 1e-6, f"accuracy with flipped labels: expected {1 - expected:.4f}, got {flipped:.4f}")


# -- test_trained_models (3 points) ------------------------------------------------------------

@check("test_trained_models", 2)
def test_relu_model_fits_xor(student, reference, rng, credit):
    X, y = reference.make_xor_data(n_per_corner=50, noise=0.15, seed=0)  # the released training data
    train_acc = (predictions(student.relu_model, X) == y).float().mean().item()
    X_new, y_new = reference.make_xor_data(n_per_corner=100, noise=0.15, seed=int(rng.integers(1, 10**6)))
    new_acc = (predictions(student.relu_model, X_new) == y_new).float().mean().item()
    if train_acc < 0.95:
        credit.set(0.5 if train_acc >= 0.85 else 0.0, f"relu_model: training accuracy {train_acc:.3f} < 0.95")
        raise CheckFailed(f"relu_model: expected training accuracy >= 0.95, got {train_acc:.3f}")
    expect(new_acc >= 0.9, f"relu_model: expected accuracy >= 0.90 on new XOR points, got {new_acc:.3f}")


@check("test_trained_models", 1)
def test_linear_model_cannot_fit(student, reference, rng):
    model = student.linear_model
    X, y = reference.make_xor_data(n_per_corner=50, noise=0.15, seed=0)
    acc = (predictions(model, X) == y).float().mean().item()
    expect(acc <= 0.77, f"linear_model: a linear net cannot solve XOR, but its accuracy is {acc:.3f} (> 0.77)")
    a, b = (torch.tensor(rng.normal(0, 1, size=(16, 2)), dtype=torch.float32) for _ in range(2))
    f = lambda x: forward_pair(model(x), "linear_model(x)")[0]
    expect_close(f(a) + f(b) - f(torch.zeros(16, 2)), f(a + b), "linear_model: f(a) + f(b) - f(0) vs f(a + b)",
                 rtol=1e-4, atol=1e-4)
