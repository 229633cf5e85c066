"""The reference solutions in solutions/: well-formed nbgrader sources that run and meet their bars.

Every solution notebook is executed top to bottom (nbclient, a fresh kernel, in a scratch copy of
its folder) on the real QuickDraw data of the ``quickdraw_root`` fixture. After the last cell a
probe cell, added by the test and never part of the notebook, prints the notebook's key numbers
as JSON; the tests assert the graded bars on those numbers.

``API`` is the graded interface of each assignment, from its ``assignment.toml``: the hidden
checks call these names with these signatures, so the notebooks must define exactly them.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator

from tests.course.notebooks import API, GRADED, NAMES, SOLUTIONS, defined_signatures, execute_notebook, nbgrader_meta

UNGRADED = ("competition",)  # the leaderboard scores it, not hidden checks

# Python run in the kernel after the last cell; it sets `_metrics`, a JSON-serialisable dict.
PROBES = {
    "xor": """_metrics = {
        "relu_accuracy": accuracy(relu_model, X, y),
        "linear_accuracy": accuracy(linear_model, X, y),
        "n_points": len(X),
    }""",
    "mlp_scratch": """_metrics = {
        "train_accuracy": train_accuracy_mse,
        "valid_accuracy": valid_accuracy_mse,
        "valid_accuracy_ce": history_ce["valid_accuracy"][-1],
        "wrong_start_mse": history_mse_wrong["valid_accuracy"],
        "wrong_start_ce": history_ce_wrong["valid_accuracy"],
        "gradient_errors": {k: relative_error(analytic[k], numeric[k]) for k in analytic},
    }""",
    # the grader's path: predict() on the instructor's held-out raw drawings
    "quickdraw_loader": """_heldout = np.load(HOMEWORK.parent / "instructor" / "homework_heldout.npz")
_metrics = {
        "valid_accuracy": valid_accuracy,
        "test_accuracy": test_accuracy,
        "heldout_accuracy": float(np.mean(predict(model, _heldout["images"]) == _heldout["labels"])),
        "speedup": speedup,
        "per_item_rate": per_item_rate,
        "in_memory_rate": in_memory_rate,
    }""",
    "activations": """_z = torch.linspace(-30, 30, 6001, dtype=torch.float64)
_metrics = {
        name: float((fn(_z) - autograd_derivative(ref, _z)).abs().max())
        for name, fn, ref in [
            ("sigmoid_grad", sigmoid_grad, torch.sigmoid), ("tanh_grad", tanh_grad, torch.tanh),
            ("relu_grad", relu_grad, F.relu), ("leaky_relu_grad", leaky_relu_grad, F.leaky_relu),
            ("elu_grad", elu_grad, F.elu),
        ]
    }""",
    "competition": """_metrics = {"baseline_valid_accuracy": baseline_valid_accuracy}""",
}
def solution_path(name: str) -> Path:
    return SOLUTIONS / name / f"{name}.ipynb"


@pytest.fixture(scope="module")
def solution_run(data_env, tmp_path_factory):
    """run(name, attempt=0): the executed solution notebook, run once per (name, attempt)."""
    cache: dict[tuple[str, int], SimpleNamespace] = {}

    def run(name: str, attempt: int = 0) -> SimpleNamespace:
        if (name, attempt) not in cache:
            workdir = tmp_path_factory.mktemp(f"{name}-{attempt}") / name
            # xor starts without its data file, so the notebook writes it with the reference function
            cache[name, attempt] = execute_notebook(solution_path(name), workdir, data_env,
                                                    probe=PROBES[name], with_files=name != "xor")
            print(f"\n{name}: ran in {cache[name, attempt].seconds:.1f} s, metrics {cache[name, attempt].metrics}")
        return cache[name, attempt]

    return run


# ---- static checks: the nbgrader source format --------------------------------------------------

def test_every_solution_but_the_competition_is_graded_by_hidden_checks():
    assert set(GRADED) <= set(NAMES) and sorted(set(NAMES) - set(GRADED)) == list(UNGRADED)
    assert all(API[name] for name in GRADED), "every graded assignment declares its interface"


@pytest.mark.parametrize("name", NAMES)
def test_source_notebook_is_valid_nbgrader_v3(name):
    nb = nbformat.read(solution_path(name), as_version=4)
    nbformat.validate(nb)
    MetadataValidator().validate_nb(nb)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta:
            assert meta["schema_version"] == 3, cell.source[:80]
        assert cell.cell_type != "code" or not cell.outputs, "source notebooks are committed without outputs"
        if meta.get("solution") and cell.cell_type == "code":
            assert cell.source.count("### BEGIN SOLUTION") == cell.source.count("### END SOLUTION") >= 1, meta["grade_id"]
        if "BEGIN SOLUTION" in cell.source:
            assert meta.get("solution"), "solution region outside a solution cell"
        if "BEGIN HIDDEN TESTS" in cell.source:
            assert meta.get("grade") and cell.cell_type == "code", "hidden tests outside a test cell"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", GRADED)
def test_points_table_matches_the_grade_cells(name):
    nb = nbformat.read(solution_path(name), as_version=4)
    graded = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"]
              for c in nb.cells if nbgrader_meta(c).get("grade") or nbgrader_meta(c).get("task")}
    header = nb.cells[0].source
    rows = dict(re.findall(r"^\|.*\| `([\w-]+)` \| (\d+) \|$", header, flags=re.M))
    assert {k: int(v) for k, v in rows.items()} == graded
    total = re.search(r"\*\*Total\*\*.*\*\*(\d+)\*\*", header)
    assert total and int(total.group(1)) == sum(graded.values())
    kinds = {nbgrader_meta(c)["grade_id"]: c.cell_type for c in nb.cells if nbgrader_meta(c).get("grade")}
    assert "markdown" in kinds.values() and "code" in kinds.values(), "autograded and written parts"


@pytest.mark.parametrize("name", GRADED)
def test_graded_api_is_defined_with_the_contract_signatures(name):
    nb = nbformat.read(solution_path(name), as_version=4)
    solution_defs = defined_signatures(c for c in nb.cells if nbgrader_meta(c).get("solution"))
    for api_name, signature in API[name].items():
        assert api_name in solution_defs, f"{name}: {api_name} is not defined in a solution cell"
        assert solution_defs[api_name][0] == signature, (api_name, solution_defs[api_name][0])
        owner = api_name.split(".")[0]
        assert solution_defs[owner][1], f"{owner} needs a docstring"


# ---- executed notebooks: the graded bars ---------------------------------------------------------

def errors_and_test_stderr(nb) -> tuple[list[str], list[str]]:
    """Error names of all cells, and grade ids of test cells that wrote to stderr (nbgrader scores those 0)."""
    errors, noisy = [], []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                errors.append(f"{out.ename}: {out.evalue}")
            if out.output_type == "stream" and out.name == "stderr" and nbgrader_meta(cell).get("grade"):
                noisy.append(nbgrader_meta(cell)["grade_id"])
    return errors, noisy


@pytest.mark.parametrize("name", NAMES)
def test_solution_runs_top_to_bottom(solution_run, name):
    run = solution_run(name)
    assert errors_and_test_stderr(run.nb) == ([], [])


def test_xor_bars_and_data_file(solution_run):
    run = solution_run("xor")
    assert run.metrics["relu_accuracy"] >= 0.95
    assert run.metrics["linear_accuracy"] <= 0.77
    assert run.metrics["n_points"] == 200
    # the committed data file is exactly what the reference make_xor_data(seed=0) writes
    assert (run.workdir / "xor_data.csv").read_bytes() == (SOLUTIONS / "xor" / "xor_data.csv").read_bytes()


def test_mlp_scratch_bars(solution_run):
    m = solution_run("mlp_scratch").metrics
    assert max(m["gradient_errors"].values()) <= 1e-7, m["gradient_errors"]
    assert m["valid_accuracy"] >= 0.90 and m["valid_accuracy_ce"] >= 0.90
    assert m["train_accuracy"] >= m["valid_accuracy"] - 0.02
    # what the written answer describes: from the confidently wrong start sigmoid+MSE is stuck at
    # chance after the first epoch while softmax+CE has already recovered
    assert m["wrong_start_mse"][0] <= 0.4 and m["wrong_start_ce"][0] >= 0.9
    assert m["wrong_start_mse"][-1] >= 0.9


def test_quickdraw_loader_bars(solution_run):
    m = solution_run("quickdraw_loader").metrics
    assert m["valid_accuracy"] >= 0.92 and m["test_accuracy"] >= 0.92
    # the grader's path: predict() on held-out raw drawings the notebook never saw
    assert m["heldout_accuracy"] >= 0.92


def test_activations_match_autograd(solution_run):
    m = solution_run("activations").metrics
    assert set(m) == {"sigmoid_grad", "tanh_grad", "relu_grad", "leaky_relu_grad", "elu_grad"}
    assert max(m.values()) <= 1e-12, m


def read_predictions(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_competition_writes_valid_reproducible_predictions(solution_run, quickdraw_root):
    run = solution_run("competition")
    rows = read_predictions(run.workdir / "predictions.csv")
    assert rows[0] == ["id", "label"]
    competition = quickdraw_root / "competition"
    with open(competition / "test.csv", newline="") as f:
        test_ids = [row["id"] for row in csv.DictReader(f)]
    n_classes = len((competition / "classes.txt").read_text().split())
    assert sorted(r[0] for r in rows[1:]) == sorted(test_ids)
    assert all(re.fullmatch(r"\d+", r[1]) and int(r[1]) < n_classes for r in rows[1:])
    # scored with the hidden labels, the baseline does about as well as on validation
    with open(quickdraw_root / "instructor" / "competition_labels.csv", newline="") as f:
        truth = {row["id"]: int(row["label"]) for row in csv.DictReader(f)}
    test_accuracy = sum(truth[i] == int(label) for i, label in rows[1:]) / len(rows[1:])  # the public half
    valid_accuracy = run.metrics["baseline_valid_accuracy"]
    assert valid_accuracy >= 0.8 and abs(test_accuracy - valid_accuracy) < 0.05, (test_accuracy, valid_accuracy)
    # the validation accuracy the notebook states in its text is the one it measures
    text = "\n".join(c.source for c in run.nb.cells if c.cell_type == "markdown")
    stated = re.search(r"baseline reaches about \*\*(\d+) %\*\*", text)
    assert stated and abs(int(stated.group(1)) / 100 - valid_accuracy) <= 0.02, (stated, valid_accuracy)
    # a second run from scratch writes the same file, byte for byte
    again = solution_run("competition", attempt=1)
    assert (again.workdir / "predictions.csv").read_bytes() == (run.workdir / "predictions.csv").read_bytes()
