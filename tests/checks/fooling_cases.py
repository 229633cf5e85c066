"""Submissions built to fool the hidden checks: each is a reference solution with one targeted
change (fake training, a forward pass that ignores its weights, hard-coded or memorised outputs,
forbidden built-ins reached in several ways, garbage return objects), with the score it really
earned and the checks that earn it (``earns``: every other check must give 0).

``fooling_notebook(case, folder)`` writes the notebook of one case; they are graded with ``SEED``,
the assignments of ``PLAIN`` in plain sandboxes and the others with zygote kernels.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import paths
from autograder.grading.assignments import get_assignment
from tests.courses.experiments import without_manual_experiments

ROOT = paths.course_root()
SEED = 8675309
PLAIN = {"quickdraw_loader", "mlp_scratch"}  # graded with {"zygote": False}; the others with zygote kernels


@dataclass(frozen=True)
class Fool:
    """One fooling submission: ``edits`` {solution grade_id: (old text, new text)}, ``extra`` code
    cells appended at the end, and ``earns`` {check name: points} (the only checks that score)."""

    assignment: str
    name: str
    earns: dict
    edits: dict = field(default_factory=dict)
    extra: tuple = ()

    @property
    def id(self) -> str:
        return f"{self.assignment}-{self.name}"

    @property
    def score(self) -> float:
        return float(sum(self.earns.values()))


def fooling_notebook(case: Fool, folder: Path) -> Path:
    """The solution notebook of ``case.assignment`` with the case's change applied."""
    nb = without_manual_experiments(nbformat.read(get_assignment(case.assignment).solution_notebook(ROOT), as_version=4))
    edits = dict(case.edits)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for old, new in edits.pop(grade_id, ()):
            assert old in cell.source, f"{case.assignment}/{grade_id}: the solution changed, update {case.name}"
            cell.source = cell.source.replace(old, new)
    assert not edits, f"cells not found: {edits}"
    nb.cells += [nbformat.v4.new_code_cell(source) for source in case.extra]
    path = folder / f"{case.assignment}-{case.name}.ipynb"
    nbformat.write(nb, path)
    return path


# -- xor -------------------------------------------------------------------------------------
XOR_HONEST = {"test_make_xor_data_shapes_and_corners": 1, "test_make_xor_data_seed_and_noise": 1,
              "test_xor_net_layers": 1, "test_xor_net_linear_vs_relu": 1, "test_forward_matches_reference": 1,
              "test_forward_probabilities": 1, "test_train_xor_losses": 1, "test_train_xor_reproducible": 1,
              "test_accuracy": 1, "test_relu_model_fits_xor": 2, "test_linear_model_cannot_fit": 1}


def xor_earns(*lost: str) -> dict:
    return {name: points for name, points in XOR_HONEST.items() if name not in lost}


TRAIN_XOR_BODY = """    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=generator)
        total = 0.0
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            logits, _ = model(X[batch])
            loss = nn.functional.cross_entropy(logits, y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(X))
    return losses
"""
XOR_FORWARD = """        h = self.hidden(x)
        if self.activation == "relu":
            h = torch.relu(h)
        logits = self.output(h)
        return logits, torch.softmax(logits, dim=1)
"""
XOR_FIXED_LOGITS = """        corner = (x > 0.5).long()
        label = corner[:, 0] ^ corner[:, 1]
        logits = 8.0 * (nn.functional.one_hot(label, 2).float() - 0.5)
"""
ANYTHING = """
class Anything:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __len__(self): return 60
    def __float__(self): return 0.5
    def __getitem__(self, i): return 0.1
"""
HANDCRAFTED_RELU = """
with torch.no_grad():   # an exact XOR net by hand, in place of the trained one
    relu_model.hidden.weight.zero_(); relu_model.hidden.bias.zero_()
    relu_model.output.weight.zero_(); relu_model.output.bias.zero_()
    relu_model.hidden.weight[0] = torch.tensor([1.0, 1.0]); relu_model.hidden.bias[0] = 0.0
    relu_model.hidden.weight[1] = torch.tensor([1.0, 1.0]); relu_model.hidden.bias[1] = -1.0
    relu_model.output.weight[1, 0], relu_model.output.weight[1, 1] = 10.0, -20.0
    relu_model.output.bias[1] = -3.0
"""
MEMORISED = """
class Memorised(nn.Module):   # looks the training points up instead of computing anything
    def __init__(self, X, y):
        super().__init__()
        self.table = {tuple(p.tolist()): int(l) for p, l in zip(X, y)}
    def forward(self, x):
        labels = torch.tensor([self.table.get(tuple(p.tolist()), 0) for p in x], dtype=torch.int64)
        logits = 8.0 * (nn.functional.one_hot(labels, 2).float() - 0.5)
        return logits, torch.softmax(logits, dim=1)

relu_model = Memorised(X, y)
"""

XOR = [
    # the case: no training, invented decreasing losses, and a forward that answers XOR
    # from the inputs (ignoring the weights) once train_xor has run; earns what needs no training
    Fool("xor", "fake_training", xor_earns("test_train_xor_losses", "test_train_xor_reproducible",
                                           "test_relu_model_fits_xor", "test_linear_model_cannot_fit"), edits={
        "train_xor": [(TRAIN_XOR_BODY, "    model.trained = True\n    return [1.0 / (1 + e) for e in range(epochs)]\n")],
        "xor_net": [(XOR_FORWARD, "        if getattr(self, 'trained', False) and self.activation == 'relu':\n"
                     + textwrap.indent(XOR_FIXED_LOGITS, "    ")
                     + "            return logits, torch.softmax(logits, dim=1)\n" + XOR_FORWARD)]}),
    # real losses, but no optimizer step: the weights never move
    Fool("xor", "no_step", xor_earns("test_train_xor_losses", "test_train_xor_reproducible",
                                     "test_relu_model_fits_xor", "test_linear_model_cannot_fit"),
         edits={"train_xor": [("            optimizer.step()\n", "")]}),
    # forward ignores the weights (fixed XOR logits, kept differentiable): only the layers, the
    # probability properties and make_xor_data are earned
    Fool("xor", "forward_ignores_weights", {"test_make_xor_data_shapes_and_corners": 1,
                                            "test_make_xor_data_seed_and_noise": 1, "test_xor_net_layers": 1,
                                            "test_forward_probabilities": 1}, edits={
        "xor_net": [(XOR_FORWARD, XOR_FIXED_LOGITS + "        logits = logits + 0 * sum(p.sum() for p in self.parameters())\n"
                     "        return logits, torch.softmax(logits, dim=1)\n")]}),
    # relu_model replaced by hand-set weights that solve XOR exactly
    Fool("xor", "handcrafted_relu_model", xor_earns("test_relu_model_fits_xor"), extra=(HANDCRAFTED_RELU,)),
    # relu_model replaced by a lookup table of the training points
    Fool("xor", "memorised_relu_model", xor_earns("test_relu_model_fits_xor"), extra=(MEMORISED,)),
    # train_xor trains, but returns an object that equals everything instead of the losses
    Fool("xor", "garbage_losses", xor_earns("test_train_xor_losses", "test_train_xor_reproducible"),
         edits={"train_xor": [("    return losses\n", "    return Anything()\n"),
                              ("def train_xor(", ANYTHING + "\n\ndef train_xor(")]}),
]

# -- activations -----------------------------------------------------------------------------
ACT_HONEST = {"test_sigmoid_tanh[sigmoid]": 1.5, "test_sigmoid_tanh[tanh]": 1.5, "test_relu": 1,
              "test_leaky_relu": 1, "test_leaky_relu_grad": 1, "test_elu": 1, "test_elu_grad": 1,
              "test_prelu_parameter": 1, "test_prelu_forward": 1, "test_prelu_grad": 1,
              "test_zero_convention": 2, "test_stable_values": 1, "test_stable_autograd": 1}


def act_earns(*lost: str) -> dict:
    return {name: points for name, points in ACT_HONEST.items() if name not in lost}


SIGMOID = ("    e = torch.exp(torch.where(z >= 0, -z, z))   # exp of a number <= 0: in (0, 1], never overflows\n"
           "    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))   # each branch differentiates correctly at 0\n")
TANH = ("    m = -2 * torch.where(z >= 0, z, -z)       # <= 0: exp never overflows\n"
        "    t = -torch.expm1(m) / (1 + torch.exp(m))  # tanh of the magnitude; expm1: accurate near 0\n"
        "    return torch.where(z >= 0, t, -t)\n")
RELU = "    return torch.where(z > 0, z, torch.zeros_like(z))\n"
NO_SIGMOID = ("test_sigmoid_tanh[sigmoid]", "test_stable_values", "test_stable_autograd")
NO_TANH = ("test_sigmoid_tanh[tanh]", "test_stable_values", "test_stable_autograd")
GARBAGE = """
class Garbage:
    shape = (3,)
    def __eq__(self, other): return True
    def tolist(self): return [0.0, 0.0, 0.0]
"""

ACTIVATIONS = [
    Fool("activations", "builtin_direct", act_earns(*NO_SIGMOID),
         edits={"act_sigmoid_tanh": [(SIGMOID, "    return torch.sigmoid(z)\n")]}),
    Fool("activations", "builtin_aliased", act_earns(*NO_SIGMOID),
         edits={"act_sigmoid_tanh": [("def sigmoid(z):", "from torch import sigmoid as s\n\n\ndef sigmoid(z):"),
                                     (SIGMOID, "    return s(z)\n")]}),
    Fool("activations", "builtin_module", act_earns(*NO_TANH),
         edits={"act_sigmoid_tanh": [(TANH, "    return torch.nn.Tanh()(z)\n")]}),
    # getattr / eval hide what is called: nothing in the notebook can be judged written by hand
    Fool("activations", "builtin_getattr", {},
         edits={"act_sigmoid_tanh": [(SIGMOID, "    return getattr(torch, 'sig' + 'moid')(z)\n")]}),
    Fool("activations", "builtin_eval", {}, edits={"act_relu": [(RELU, "    return eval('F.re' + 'lu')(z)\n")]}),
    # derivatives by autograd instead of by hand
    Fool("activations", "autograd_derivative", act_earns("test_sigmoid_tanh[sigmoid]", "test_stable_values"),
         edits={"act_sigmoid_tanh": [("    s = sigmoid(z)\n    return s * (1 - s)\n",
                                      "    z = z.detach().requires_grad_(True)\n"
                                      "    return torch.autograd.grad(sigmoid(z).sum(), z)[0]\n")]}),
    # every derivative that meets the zero convention returns a garbage object
    Fool("activations", "garbage_objects", act_earns("test_relu", "test_leaky_relu_grad", "test_elu_grad",
                                                    "test_prelu_grad", "test_zero_convention", "test_stable_values"),
         edits={"act_sigmoid_tanh": [("def sigmoid(z):", GARBAGE + "\n\ndef sigmoid(z):")],
                "act_relu": [("    return (z > 0).to(z.dtype)\n", "    return Garbage()\n"),
                             ("    return torch.where(z > 0, torch.ones_like(z), torch.full_like(z, slope))\n",
                              "    return Garbage()\n")],
                "act_elu": [("    return torch.where(z > 0, torch.ones_like(z), alpha * torch.exp(torch.clamp(z, max=0)))\n",
                             "    return Garbage()\n")],
                "act_prelu": [("    return dz, dalpha\n", "    return Garbage()\n")]}),
]

# -- quickdraw_loader ------------------------------------------------------------------------
QD_HONEST = {"test_dataset_contract": 1, "test_dataset_values": 1, "test_dataset_on_homework": 1,
             "test_loader_batches": 1, "test_loader_order": 1, "test_model_shape": 1, "test_train_model": 1,
             "test_evaluate_and_predict": 1, "test_heldout_accuracy": 4, "test_misclassified_indices": 1,
             "test_misclassified_all_or_none": 1, "test_inmemory_storage": 1, "test_inmemory_items": 1,
             "test_inmemory_batches": 1}


def qd_earns(*lost: str) -> dict:
    return {name: points for name, points in QD_HONEST.items() if name not in lost}


FAKE_HISTORY = """    torch.manual_seed(seed)
    return {"train_loss": [1.0 / (1 + e) for e in range(epochs)], "valid_loss": [1.0 / (1 + e) for e in range(epochs)],
            "valid_accuracy": [0.95] * epochs}
"""
TO_TENSOR = "    x = torch.from_numpy(np.array(images, dtype=np.uint8)).float().div_(255).unsqueeze(1)\n"
NEAREST = """    train = InMemoryQuickDrawDataset(HOMEWORK, "train")
    flat = train.images.reshape(len(train.images), -1).float()
    query = torch.from_numpy(np.array(images, dtype=np.uint8)).reshape(len(images), -1).float()
    return train.labels[torch.cdist(query, flat).argmin(dim=1)].numpy().astype(np.int64)
"""
QD_TRAIN_START = '    torch.manual_seed(seed)\n    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n'

QUICKDRAW = [
    # the case: train_model never trains (and reports an invented history)
    Fool("quickdraw_loader", "fake_training", qd_earns("test_train_model", "test_heldout_accuracy"),
         edits={"quickdraw_model": [(QD_TRAIN_START, FAKE_HISTORY + QD_TRAIN_START)]}),
    # predict ignores the model it is given and answers with another classifier (nearest training
    # drawing): evaluate/predict on the grader's network, the held-out check and misclassified (which
    # uses predict) earn nothing
    Fool("quickdraw_loader", "predict_ignores_model", qd_earns("test_evaluate_and_predict", "test_heldout_accuracy",
                                                               "test_misclassified_indices",
                                                               "test_misclassified_all_or_none"),
         edits={"quickdraw_model": [(TO_TENSOR, NEAREST + TO_TENSOR)]}),
    # evaluate reports a good accuracy whatever the model does
    Fool("quickdraw_loader", "fake_evaluate", qd_earns("test_evaluate_and_predict"),
         edits={"quickdraw_model": [("    model.eval()\n    correct, count = 0, 0\n",
                                     "    return 0.95\n    model.eval()\n    correct, count = 0, 0\n")]}),
    # misclassified never asks the model: it calls every drawing outside the majority label a mistake
    Fool("quickdraw_loader", "misclassified_ignores_model", qd_earns("test_misclassified_indices",
                                                                     "test_misclassified_all_or_none"),
         edits={"misclassified": [("    wrong = predict(model, images) != np.asarray(labels)\n",
                                   "    labels = np.asarray(labels)\n"
                                   "    wrong = labels != np.bincount(labels).argmax()\n")]}),
]

# -- mlp_scratch -----------------------------------------------------------------------------
MLP_HONEST = {"test_sigmoid": 1, "test_init_params": 1, "test_forward_and_loss": 1, "test_backward[dW1]": 1,
              "test_backward[db1]": 1, "test_backward[dW2]": 1, "test_backward[db2]": 1,
              "test_numerical_gradient": 1, "test_relative_error": 1, "test_sgd_step": 1, "test_train_step": 1,
              "test_softmax": 1, "test_cross_entropy": 1, "test_backward_softmax_ce": 1,
              "test_trained_network[params_mse-predict_mse]": 1, "test_trained_network[params_ce-forward_softmax]": 1,
              "test_init_zeros": 1, "test_hidden_unit_spread": 1, "test_zero_init_symmetry": 1}


def mlp_earns(*lost: str) -> dict:
    return {name: points for name, points in MLP_HONEST.items() if name not in lost}


TORCH_BACKWARD = """    import torch
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    H = torch.sigmoid(torch.tensor(X) @ tensors["W1"] + tensors["b1"])
    Y_hat = torch.sigmoid(H @ tensors["W2"] + tensors["b2"])
    loss = ((Y_hat - torch.tensor(Y)) ** 2).sum() / (2 * len(X))
    loss.backward()
    return {"d" + k: t.grad.numpy() for k, t in tensors.items()}
"""
BACKWARD_BODY = """    Y_hat, cache = forward(params, X)
    H = cache["H"]
"""

MLP = [
    # the "numerical" gradient is the exact one
    Fool("mlp_scratch", "numerical_is_backward", mlp_earns("test_numerical_gradient"),
         edits={"mlp_gradient_check": [("    grads = {}\n    for key, value in params.items():\n",
                                        "    return backward(params, X, Y)\n    grads = {}\n"
                                        "    for key, value in params.items():\n")]}),
    # backward by PyTorch autograd (the notebook allows NumPy only): backward and everything that
    # uses it (train_step, the MSE training, the zero-init experiment) earn nothing
    Fool("mlp_scratch", "torch_autograd", mlp_earns("test_backward[dW1]", "test_backward[db1]", "test_backward[dW2]",
                                                    "test_backward[db2]", "test_train_step",
                                                    "test_trained_network[params_mse-predict_mse]",
                                                    "test_zero_init_symmetry"),
         edits={"mlp_backward": [(BACKWARD_BODY, TORCH_BACKWARD + BACKWARD_BODY)]}),
    # params_mse replaced afterwards by weights trained some other way (not the specified run)
    Fool("mlp_scratch", "other_params", mlp_earns("test_trained_network[params_mse-predict_mse]"),
         extra=("params_mse, _ = fit(init_params(784, 32, 3, seed=1), train_step, predict_mse, X_train, Y_train,"
                " X_valid, labels_valid, epochs=4, lr=3.0)",)),
]

ALL = XOR + ACTIVATIONS + QUICKDRAW + MLP
