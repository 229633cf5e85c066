"""An assignment is described in one place: discovered from autograder/checks/*/assignment.toml
(a broken description is a one-line error naming the file), and its points are the solution
notebook's, shared between the checks of each cell by weight; a disagreement is an error."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.errors import UserError
from autograder.grading.assignments import CHECKS_ROOT, discover, get_assignment, is_graded, load_assignment
from autograder.grading.expect import check
from autograder.grading.grader import grade_submission
from autograder.grading.plugin import CheckContext, run_checks
from autograder.grading.points import share_points
from autograder.proxy.errors import ProxyError
from autograder.sandbox.limits import Limits
from tests.courses.tiny import TINY_CHECKS, make_course, notebook_bytes, tiny_cells, tiny_spec

LONG = Limits(cell_timeout=300.0, notebook_timeout=900.0, cpu_seconds=1800, call_timeout=60.0)


def test_the_course_assignments_are_discovered_in_course_order_with_their_descriptions():
    specs = {spec.name: spec for spec in discover()}
    assert list(specs) == ["xor", "mlp_scratch", "quickdraw_loader", "activations"]
    assert all(spec.checks_dir == CHECKS_ROOT / name for name, spec in specs.items())
    described = {name: (spec.datasets, spec.uses_torch, spec.limits) for name, spec in specs.items()}
    assert described == {"xor": ((), True, Limits()), "mlp_scratch": (("homework",), False, LONG),
                         "quickdraw_loader": (("homework",), True, LONG), "activations": ((), True, Limits())}
    assert specs["mlp_scratch"].env() == {"QUICKDRAW_HOMEWORK": "{home}/data/homework"}
    assert specs["xor"].interface["XORNet.forward"] == "self, x"


def test_unknown_assignments_and_paths_are_not_graded():
    assert not is_graded("competition") and not is_graded("../grading") and not is_graded("__pycache__")
    with pytest.raises(UserError, match="unknown assignment 'competition'; graded assignments: xor, mlp_scratch"):
        get_assignment("competition")


def checks_folder(root: Path, name: str, toml: str | None, checks: bool = True) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    if toml is not None:
        (folder / "assignment.toml").write_text(toml)
    if checks:
        shutil.copy(TINY_CHECKS / "check_tiny.py", folder / "check_tiny.py")
    return folder


BROKEN = {
    "unknown_key": ('uses_torch = false\nseed = 3\n', "unknown key 'seed'"),
    "bad_type": ('uses_torch = "no"\n', "uses_torch must be true or false, not 'no'"),
    "bad_limit": ('[limits]\ncell_timeout = "slow"\n', "limits.cell_timeout must be a number, not 'slow'"),
    "int_limit": ('[limits]\nnproc = 4.5\n', "limits.nproc must be an integer, not 4.5"),
    "negative_limit": ('[limits]\ncpu_seconds = -1\n', "limits.cpu_seconds must not be negative"),
    "unknown_limit": ('[limits]\ncell_timout = 3\n', "unknown key limits.cell_timout"),
    "unknown_dataset": ('datasets = ["quickdraw"]\n', "datasets: ['quickdraw'] must name each of homework, "
                        "competition"),
    "bad_interface": ('[interface]\nadd = 2\n', "[interface] must map names to signatures"),
    "not_toml": ('uses_torch = \n', "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_description_is_a_one_line_error_naming_the_file(tmp_path, case):
    toml, message = BROKEN[case]
    folder = checks_folder(tmp_path, "demo", toml)
    for load in (lambda: discover(tmp_path), lambda: get_assignment("demo", checks=folder)):
        with pytest.raises(UserError) as info:
            load()
        text = str(info.value)
        assert text.startswith(f"{folder / 'assignment.toml'}: ") and message in text and "\n" not in text


def test_a_checks_folder_without_description_or_checks_is_an_error(tmp_path):
    checks_folder(tmp_path, "good", "uses_torch = false\n")
    missing = checks_folder(tmp_path, "no_toml", None)
    with pytest.raises(UserError, match=f"^{missing / 'assignment.toml'} is missing"):
        discover(tmp_path)
    shutil.rmtree(missing)
    empty = checks_folder(tmp_path, "no_checks", "", checks=False)
    with pytest.raises(UserError, match=f"^{empty / 'assignment.toml'}: no hidden checks beside it"):
        discover(tmp_path)
    shutil.rmtree(empty)
    assert [(s.name, s.uses_torch, s.limits) for s in discover(tmp_path)] == [("good", False, Limits())]


def test_a_description_names_the_folder_unless_told_otherwise():
    assert load_assignment(TINY_CHECKS).name == "tiny_checks"
    spec = tiny_spec(cell_timeout=9.0)
    assert (spec.name, spec.uses_torch, spec.limits.cell_timeout, spec.limits.nproc) == ("tiny", False, 9.0, 48)


def test_points_are_shared_between_the_checks_of_a_cell_by_weight():
    marks = {"a": ("test_one", 2.0), "b": ("test_one", 1.0), "c": ("test_two", 1.0), "d": ("test_two", 1.0)}
    shares, problems = share_points(marks, {"test_one": 3.0, "test_two": 3.0, "written": 0.0})
    assert shares == {"a": 2.0, "b": 1.0, "c": 1.5, "d": 1.5} and problems == []
    _, problems = share_points(marks, {"test_one": 3.0, "test_three": 2.5})
    assert problems == [
        "cell 'test_three' has 2.5 points in the solution notebook, but no check scores it",
        "cell 'test_two' has 0 points in the solution notebook (no autograder test cell with points has that "
        "grade_id), but 2 check(s) score it"]


@pytest.mark.parametrize("weight", [0, -1, float("nan"), float("inf"), "2", True])
def test_a_check_weight_is_a_positive_number(weight):
    with pytest.raises(ValueError, match="the weight must be a positive number"):
        check("test_add", weight)


def test_checks_that_do_not_fit_the_points_are_broken_and_score_nothing():
    context = CheckContext(seed=1, reference=None, unavailable=ProxyError("the notebook did not run"))
    results = run_checks(TINY_CHECKS, context, {"test_add": 2.0, "test_scale": 1.0, "test_counter": 1.0})
    assert {r.name: r.max_points for r in results} == {"test_add": 2.0, "test_scale": 1.0, "test_counter": 1.0}
    with pytest.raises(RuntimeError, match="cell 'test_extra' has 4 points in the solution notebook, but no check"):
        run_checks(TINY_CHECKS, context, {"test_add": 1.0, "test_scale": 1.0, "test_counter": 1.0, "test_extra": 4.0})


def test_grading_refuses_a_release_whose_points_are_not_the_solutions(tmp_path):
    course = make_course(tmp_path)
    released = course / "assignments" / "tiny" / "tiny.ipynb"
    nb = nbformat.read(released, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_scale")
    cell.metadata.nbgrader.points = 5
    nbformat.write(nb, released)
    with pytest.raises(UserError, match="cell 'test_scale' has 1 point in .*tiny.ipynb but 5 points in the released"):
        grade_submission(tiny_spec(), notebook_bytes(tiny_cells()), "someone", "tiny.ipynb", 1,
                         course_root=course, secure=False)
