"""The test class is what it claims: each independent student's functions are correct (checked here
against PyTorch's own, as the notebook's visible tests do), and the copies are of ada's notebook."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.similarity import corpus, students


def _namespace(notebook) -> dict:
    """The solution cells of ``notebook`` executed (the test's own fixture code, never a student's)."""
    namespace = {"torch": torch, "nn": nn, "F": torch.nn.functional}
    for cell in notebook.cells:
        info = cell.metadata.get("nbgrader", {})
        if info.get("solution") and cell.cell_type == "code":
            exec(compile(cell.source, info["grade_id"], "exec"), namespace)  # noqa: S102 - our own fixture code
    return namespace


def _derivative(f, z):
    z = z.detach().clone().requires_grad_(True)
    f(z).sum().backward()
    return z.grad


@pytest.mark.parametrize("student", sorted(students.INDEPENDENT))
def test_every_independent_solution_is_correct(student):
    ns = _namespace(corpus.solved(students.INDEPENDENT[student]))
    functional = torch.nn.functional
    for dtype in (torch.float64, torch.float32):
        tol = {"rtol": 1e-5, "atol": 1e-5}
        z = torch.cat([torch.randn(200, dtype=dtype, generator=torch.Generator().manual_seed(1)) * 4,
                       torch.tensor([0.0, 90.0, -90.0], dtype=dtype)])
        cases = [("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("relu", torch.relu),
                 ("leaky_relu", lambda x: functional.leaky_relu(x, 0.01)), ("elu", functional.elu)]
        for name, reference in cases:
            out = ns[name](z)
            assert out.dtype == dtype and out.shape == z.shape, (student, name)
            assert torch.allclose(out, reference(z), **tol), (student, name)
            assert torch.allclose(ns[f"{name}_grad"](z)[:-2], _derivative(reference, z)[:-2], **tol), (student, name)
        prelu = ns["PReLU"](0.2)
        assert torch.allclose(prelu(z), functional.prelu(z, torch.tensor([0.2], dtype=dtype)), **tol), student
        dz, dalpha = ns["prelu_grad"](z, 0.2)
        assert torch.allclose(dz, torch.where(z > 0, 1.0, 0.2).to(dtype), **tol), student
        assert torch.allclose(dalpha, torch.where(z > 0, 0.0, z), **tol), student


def test_the_planted_copies_are_ada_s_and_the_template_is_untouched(class_notebooks):
    def solution_text(name):
        return [c.source for c in class_notebooks[name].cells if c.metadata.get("nbgrader", {}).get("solution")]

    assert solution_text("copy_verbatim") == solution_text(corpus.SOURCE)
    for name in ("copy_renamed", "copy_reordered", "copy_comments", "copy_deadcode"):
        assert solution_text(name) != solution_text(corpus.SOURCE), name
    released = [c.source for c in corpus.released_notebook().cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solution_text("template_only") == released
    ada_sigmoid = solution_text(corpus.SOURCE)[0].split("\n\n\n")[0]
    assert solution_text("ben_took")[0].startswith(ada_sigmoid)
    bens_own = [c.source for c in corpus.solved(students.B).cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solution_text("ben_took")[1:] == bens_own[1:] and solution_text("ben_took")[0] != bens_own[0]
