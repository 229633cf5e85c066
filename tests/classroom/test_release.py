"""`autograder release` drives nbgrader's generate-assignment step on this course layout."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.classroom.release import release_assignment
from autograder.cli import main
from autograder.errors import UserError

REPO = Path(__file__).resolve().parents[2]

SOLUTION_CODE = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
TEST_CODE = (
    "assert double(1) == 2\n"
    "### BEGIN HIDDEN TESTS\n"
    "assert double(21) == 42  # hidden-marker\n"
    "### END HIDDEN TESTS\n"
)


def _cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "solution": False, "grade": False,
                                     "locked": False, **nbgrader}
    return cell


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A course folder with this repo's nbgrader_config.py and one tiny assignment."""
    shutil.copy(REPO / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("markdown", "# Tiny\nDo not edit this.", grade_id="intro", locked=True),
        _cell("code", SOLUTION_CODE, grade_id="double", solution=True),
        _cell("code", TEST_CODE, grade_id="test_double", grade=True, locked=True, points=2),
        _cell("markdown", "Explain. YOUR WORDS\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION",
              grade_id="why", solution=True, grade=True, points=1),
    ]
    folder = tmp_path / "solutions" / "tiny"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "tiny.ipynb")
    (folder / "data.csv").write_text("a,b\n1,2\n")
    return tmp_path


def test_release_strips_solutions_and_hidden_tests(course: Path) -> None:
    target = release_assignment("tiny", root=course)
    assert target == course / "assignments" / "tiny"
    released = nbformat.read(target / "tiny.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in released.cells)
    assert "return 2 * x" not in text
    assert "raise NotImplementedError()" in text
    assert "hidden-marker" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "assert double(1) == 2" in text  # visible tests stay
    assert "Because." not in text and "YOUR ANSWER HERE" in text
    by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in released.cells}
    assert by_id["intro"].metadata["nbgrader"]["locked"] is True
    assert "checksum" in by_id["test_double"].metadata["nbgrader"]
    # Files beside the notebook are released with it; the gradebook knows the assignment.
    assert (target / "data.csv").read_text() == "a,b\n1,2\n"
    gradebook = course / "gradebook.db"
    assert gradebook.is_file() and gradebook.stat().st_mode & 0o077 == 0, "gradebook must be private"
    with sqlite3.connect(gradebook) as db:
        stored = " ".join(row[0] or "" for row in db.execute("SELECT source FROM source_cell"))
    assert "assert double(1) == 2" in stored, "nbgrader's copy of the cells is kept"
    assert "hidden-marker" not in stored and "return 2 * x" not in stored, "no hidden text in the gradebook"


def test_release_is_deterministic_and_removes_stale_files(course: Path, tmp_path: Path) -> None:
    first = release_assignment("tiny", root=course)
    (first / "stale.txt").write_text("left over")
    before = (first / "tiny.ipynb").read_bytes()
    again = release_assignment("tiny", root=course, out_dir=course / "assignments")
    assert (again / "tiny.ipynb").read_bytes() == before
    assert not (again / "stale.txt").exists()


def test_release_cli_errors_are_one_line(course: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("COURSE_ROOT", str(course))
    assert main(["release", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: unknown assignment 'nope'; available in solutions/: tiny"
    assert main(["release"]) == 2
    assert "--all" in capsys.readouterr().err


def test_release_cli_all(course: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("COURSE_ROOT", str(course))
    assert main(["release", "--all"]) == 0
    assert "released tiny" in capsys.readouterr().out
    assert (course / "assignments" / "tiny" / "tiny.ipynb").is_file()


def _console_release(course: Path, *names: str):
    """Run the installed ``autograder`` console script the way the README shows it, with a PATH
    that holds no virtual environment (so nbgrader cannot find ``alembic`` there)."""

    bin_dir = Path(sys.executable).parent
    path = "/usr/bin:/bin"
    assert shutil.which("alembic", path=path) is None, "this test needs a PATH without alembic"
    env = {"PATH": path, "HOME": str(course), "COURSE_ROOT": str(course), "PYTHONPATH": str(REPO)}
    return subprocess.run([str(bin_dir / "autograder"), "release", *names], cwd=course, env=env,
                          capture_output=True, text=True, timeout=300)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_console_script_releases_a_fresh_course_without_the_venv_on_path(course: Path) -> None:
    assert not (course / "gradebook.db").exists()
    done = _console_release(course, "tiny")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"released tiny: {course / 'assignments' / 'tiny'} (tiny.ipynb)"
    released = nbformat.read(course / "assignments" / "tiny" / "tiny.ipynb", as_version=4)
    assert "raise NotImplementedError()" in "".join(c.source for c in released.cells)
    with sqlite3.connect(course / "gradebook.db") as db:
        assert [r[0] for r in db.execute("SELECT name FROM assignment")] == ["tiny"]
    assert sorted(p.name for p in (course / "assignments").iterdir()) == ["tiny"]  # no scratch left


BROKEN_SOURCES = {
    "not JSON": lambda path: path.write_text('{"cells": [', encoding="utf-8"),
    "grade cell without grade_id": lambda path: path.write_text(nbformat.writes(nbformat.v4.new_notebook(cells=[
        _cell("code", "assert True", grade=True, locked=True, points=1)]))),
    "duplicate grade_id": lambda path: path.write_text(nbformat.writes(nbformat.v4.new_notebook(cells=[
        _cell("code", "assert 1", grade_id="t", grade=True, locked=True, points=1),
        _cell("code", "assert 2", grade_id="t", grade=True, locked=True, points=1)]))),
}


@pytest.mark.parametrize("breakage", sorted(BROKEN_SOURCES))
def test_a_failed_release_leaves_the_committed_one_byte_identical(course: Path, breakage: str) -> None:
    release_assignment("tiny", root=course)  # the committed release (made in-process: the console script's is tested above)
    (course / "assignments" / "tiny" / "notes.txt").write_text("committed with the release\n")
    before = _tree(course / "assignments")
    BROKEN_SOURCES[breakage](course / "solutions" / "tiny" / "tiny.ipynb")
    done = _console_release(course, "tiny")
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: nbgrader could not release 'tiny': "), done.stderr
    assert "Traceback" not in done.stderr and "above traceback" not in done.stderr
    assert _tree(course / "assignments") == before  # same files, same bytes, no scratch folder left


def _graded_course(tmp_path: Path, change) -> Path:
    """A course holding a copy of solutions/xor (graded by autograder/checks/xor) changed by ``change``."""
    shutil.copy(REPO / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions" / "xor", tmp_path / "solutions" / "xor")
    path = tmp_path / "solutions" / "xor" / "xor.ipynb"
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)
    return tmp_path


def _extra_test_cell(nb) -> None:
    nb.cells.append(_cell("code", "assert True", grade_id="test_extra", grade=True, locked=True, points=2))


def _renamed_test_cell(nb) -> None:
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_train_xor")
    cell.metadata.nbgrader.grade_id = "test_training"


@pytest.mark.parametrize("change, problems", [
    (_extra_test_cell, ["cell 'test_extra' has 2 points in the solution notebook, but no check scores it"]),
    (_renamed_test_cell, ["cell 'test_train_xor' has 0 points in the solution notebook (no autograder test cell "
                          "with points has that grade_id), but 3 check(s) score it",
                          "cell 'test_training' has 3 points in the solution notebook, but no check scores it"]),
], ids=["cell without checks", "checks without cell"])
def test_release_refuses_hidden_checks_that_do_not_fit_the_solution_points(tmp_path: Path, change, problems):
    course = _graded_course(tmp_path, change)
    with pytest.raises(UserError) as info:
        release_assignment("xor", root=course)
    message = str(info.value)
    assert message.startswith(f"xor: the hidden checks in {REPO / 'autograder' / 'checks' / 'xor'} do not fit "
                              f"{course / 'solutions' / 'xor' / 'xor.ipynb'}: ")
    assert message.endswith(": " + "; ".join(problems)) and "\n" not in message
    assert not (course / "assignments").exists() and not (course / "gradebook.db").exists()
