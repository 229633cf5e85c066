"""``autograder similarity``: nbgrader's submitted/ layout or given paths, the files it writes, and a
one-line error for bad input."""

from __future__ import annotations

import pytest


@pytest.fixture
def in_course(similarity_course, monkeypatch):
    monkeypatch.setenv("COURSE_ROOT", str(similarity_course))
    return similarity_course


def test_similarity_of_the_submitted_folder(run_cli, in_course, tmp_path):
    result = run_cli("similarity", "activations", "--out", tmp_path / "report", "--top", "5")
    assert result.returncode == 0, result.stderr
    assert "activations: 12 notebooks, 55 pairs, 1 clusters of 3+, 1 with nothing of their own" in result.stdout
    first = result.stdout.splitlines()[1]
    assert first.startswith("  1. ") and ("ada" in first or "copy_" in first)
    assert (tmp_path / "report" / "similarity-activations.html").is_file()
    assert len((tmp_path / "report" / "similarity-activations.csv").read_text().splitlines()) == 56
    assert "comparing (Dolos)" in result.stderr  # the progress bar


def test_similarity_of_given_paths(run_cli, in_course, tmp_path):
    picked = [in_course / "submitted" / s / "activations" / "activations.ipynb" for s in ("ada", "copy_renamed", "eli")]
    garbage = tmp_path / "zed" / "activations.ipynb"
    garbage.parent.mkdir()
    garbage.write_text('{"cells": 7, "nbformat": NaN}')
    result = run_cli("similarity", "activations", *picked, garbage, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "4 notebooks, 3 pairs" in result.stdout and "1 with nothing of their own" in result.stdout


@pytest.mark.parametrize("case", ["unknown", "empty", "one", "top", "no-dolos"])
def test_bad_input_is_a_one_line_error(run_cli, in_course, tmp_path, case):
    args = {"unknown": ["no_such_assignment"], "empty": ["activations", tmp_path],
            "one": ["activations", in_course / "submitted" / "ada"], "top": ["activations", "--top", "0"],
            "no-dolos": ["activations"]}[case]
    env = {"AUTOGRADER_DOLOS_DIR": tmp_path / "nothing"} if case == "no-dolos" else None
    result = run_cli("similarity", *args, "--out", tmp_path / "out", env=env)
    message = {"unknown": "assignment 'no_such_assignment' is not released", "empty": "no notebooks (*.ipynb) in",
               "one": "needs at least two submissions", "top": "--top and --min-fragment must be at least 1",
               "no-dolos": "run `make similarity-engine`"}[case]
    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_help_explains_the_command(run_cli):
    result = run_cli("similarity", "--help")
    assert result.returncode == 0
    for word in ("--out", "--top", "--min-fragment", "Dolos", "written answers", "submitted/"):
        assert word in result.stdout
