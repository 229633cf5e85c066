"""``autograder grade``: paths, student ids, the JSON document, the table, exit codes, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from autograder import paths
from autograder.sandbox import probe

ROOT = paths.course_root()
CHECK_KEYS = {"name", "cell", "points", "max_points", "outcome", "message"}


def test_grades_a_folder_and_writes_the_json(run_cli, tmp_path, quickdraw_root):
    blank = ROOT / "assignments" / "xor" / "xor.ipynb"
    layout = tmp_path / "submitted" / "alice" / "xor"
    layout.mkdir(parents=True)
    shutil.copy(blank, layout / "xor.ipynb")
    other = tmp_path / "submitted" / "alice" / "activations"  # another assignment: skipped
    other.mkdir(parents=True)
    shutil.copy(ROOT / "assignments" / "activations" / "activations.ipynb", other / "activations.ipynb")
    (tmp_path / "bob.ipynb").write_text("this is not a notebook")
    out = tmp_path / "results.json"
    result = run_cli("grade", "xor", tmp_path, "--seed", "77", "--json", out, "--data", quickdraw_root)
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text())
    assert set(doc) == {"assignment", "seed", "submissions"} and doc["assignment"] == "xor" and doc["seed"] == 77
    subs = {s["student"]: s for s in doc["submissions"]}
    assert set(subs) == {"alice", "bob"}
    assert subs["alice"]["status"] == "graded" and subs["alice"]["score"] == 0 and subs["alice"]["max_score"] == 12
    assert subs["bob"]["status"] == "error" and subs["bob"]["score"] == 0 and "not a Jupyter notebook" in subs["bob"]["error"]
    for sub in subs.values():
        assert {"student", "notebook", "status", "score", "max_score", "checks"} <= set(sub)
        assert len(sub["checks"]) == 11
        for check in sub["checks"]:
            assert set(check) == CHECK_KEYS and check["outcome"] in ("passed", "failed", "error", "timeout")
    assert "seed 77" in result.stdout and "alice" in result.stdout and "bob" in result.stdout
    assert "0/11" in result.stdout


def test_single_notebook_student_from_file_name(run_cli, tmp_path, quickdraw_root):
    notebook = tmp_path / "carol.ipynb"
    notebook.write_text("")
    out = tmp_path / "r.json"
    result = run_cli("grade", "activations", notebook, "--json", out, "--data", quickdraw_root)
    assert result.returncode == 0
    doc = json.loads(out.read_text())
    assert isinstance(doc["seed"], int) and f"--seed {doc['seed']}" in result.stdout
    assert [s["student"] for s in doc["submissions"]] == ["carol"]
    assert doc["submissions"][0]["status"] == "error"


def test_clear_errors(run_cli, tmp_path, monkeypatch):
    cases = [
        (("grade", "nope", tmp_path), "unknown assignment 'nope'"),
        (("grade", "xor", tmp_path / "missing.ipynb"), "no such file or folder"),
        (("grade", "xor", tmp_path), "no notebooks"),
    ]
    for args, message in cases:
        result = run_cli(*args)
        assert result.returncode != 0 and result.stderr.startswith("error: ") and message in result.stderr
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    result = run_cli("grade", "xor", env={"COURSE_ROOT": tmp_path})
    assert result.returncode != 0 and "is not released" in result.stderr
    (tmp_path / "x.ipynb").write_text("{}")
    monkeypatch.setattr(probe, "missing_protections", lambda: ("bubblewrap (`bwrap`) is not installed",))
    result = run_cli("grade", "xor", tmp_path / "x.ipynb")
    assert result.returncode != 0 and "error: cannot sandbox student code: bubblewrap" in result.stderr


def test_no_paths_means_the_submitted_folder(run_cli, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    for name in ("solutions", "assignments"):
        (course / name).symlink_to(ROOT / name)
    result = run_cli("grade", "xor", env={"COURSE_ROOT": course})
    assert result.returncode != 0 and "no notebooks given and no nbgrader submitted/ folder" in result.stderr
    folder = course / "submitted" / "dave" / "xor"
    folder.mkdir(parents=True)
    (folder / "xor.ipynb").write_bytes(b"\x00garbage")
    out = tmp_path / "r.json"
    result = run_cli("grade", "xor", "--json", out, env={"COURSE_ROOT": course})
    assert result.returncode == 0, result.stderr
    assert [(s["student"], s["status"]) for s in json.loads(out.read_text())["submissions"]] == [("dave", "error")]


def test_console_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "autograder", "grade", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--insecure-no-sandbox" in out.stdout and "--seed" in out.stdout
