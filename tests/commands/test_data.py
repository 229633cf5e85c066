"""`autograder data quickdraw ...` as a user runs it: output, reruns, and every error path."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.local_server import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(run_cli):
    """``run(ACTION, ...)`` = ``autograder data quickdraw ACTION ...`` in-process."""
    return lambda *args, env=None: run_cli("data", "quickdraw", *args, env=env)


def assert_one_line_error(proc, *fragments: str) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture
def tiny(tiny_quickdraw, tmp_path):
    """The tiny source copied to a writable place, plus its spec and an output folder."""
    source = tmp_path / "source"
    shutil.copytree(tiny_quickdraw["source"], source)
    return {"source": source, "spec": tiny_quickdraw["spec_path"], "out": tmp_path / "out"}


@pytest.fixture
def prepare(run):
    """``prepare(tiny, *extra)``: prepare all tiny datasets into tiny["out"]."""

    def call(tiny, *extra, env=None):
        return run("prepare", "all", "--source", tiny["source"], "--spec", tiny["spec"],
                   "--out", tiny["out"], *extra, env=env)

    return call


def test_prepare_reports_counts_then_up_to_date(tiny, prepare):
    first = prepare(tiny)
    assert first.returncode == 0, first.stderr
    text = " ".join(first.stdout.split())
    assert "homework: prepared in" in text and "competition: prepared in" in text
    assert "train 18 images, labeled (6 per class)" in text
    assert "heldout 6 images, instructor only" in text
    assert "test 18 images, no labels (6 per class); labels for the instructor: 9 public, 9 private" in text
    assert "instructor-only: " in text and "competition_labels.csv" in text
    second = prepare(tiny)
    assert second.returncode == 0
    assert "homework: up to date" in second.stdout and "competition: up to date" in second.stdout


def test_unknown_class_lists_the_available_ones(tiny, tmp_path, prepare):
    spec = json.loads(tiny["spec"].read_text())
    spec["datasets"]["homework"]["classes"][2] = "zebra"
    tiny["spec"] = tmp_path / "zebra.json"
    tiny["spec"].write_text(json.dumps(spec))
    assert_one_line_error(prepare(tiny), "unknown class 'zebra'", "available: ant, bee, cow, dog")


@pytest.mark.parametrize(
    "file, content, fragments",
    [
        ("cow.npy", b"\x93NUMPY garbage", ["cow.npy", "corrupt"]),
        ("ant.npz", "truncate", ["ant.npz", "corrupt"]),
        ("dog.npy", np.zeros((40, 27, 27), np.uint8), ["dog.npy", "(40, 27, 27)"]),
        ("dog.npy", np.zeros((40, 28, 28), np.float32), ["dog.npy", "uint8", "float32"]),
        ("ant.npz", {"pixels": np.zeros((40, 28, 28), np.uint8)}, ["ant.npz", "no 'images'"]),
    ],
)
def test_broken_source_file_is_named(tiny, file, content, fragments, prepare):
    path = tiny["source"] / file
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, np.ndarray):
        np.save(path, content)
    elif isinstance(content, dict):
        np.savez(path, **content)
    else:
        path.write_bytes(path.read_bytes()[:300])
    assert_one_line_error(prepare(tiny), *fragments)
    assert not tiny["out"].exists()


def test_too_few_drawings(tiny, tmp_path, prepare):
    spec = json.loads(tiny["spec"].read_text())
    spec["datasets"]["homework"]["splits"]["train"] = 30
    tiny["spec"] = tmp_path / "big.json"
    tiny["spec"].write_text(json.dumps(spec))
    assert_one_line_error(prepare(tiny), "class 'ant' has only 39 distinct drawings", "1 duplicate dropped",
                          "58 = 38 (homework) + 20 (competition)")


def test_no_source_and_no_network_says_how_to_provide_one(tiny, tmp_path, run):
    course = tmp_path / "course" / "repo"  # no ../shared/quickdraw beside it
    course.mkdir(parents=True)
    env = {"COURSE_ROOT": str(course), "QUICKDRAW_BASE_URL": f"http://127.0.0.1:{free_port()}/"}
    proc = run("prepare", "all", "--spec", tiny["spec"], "--out", tiny["out"], env=env)
    assert_one_line_error(proc, "cannot download 'ant'", "--source", "QUICKDRAW_SOURCE")
    assert not list((course / "data" / "quickdraw" / "cache").glob("*.npy"))
    missing = run("prepare", "all", "--source", tmp_path / "nowhere", "--spec", tiny["spec"])
    assert_one_line_error(missing, "nowhere: no such folder", "QUICKDRAW_SOURCE")


def test_source_resolution_order(tiny, tmp_path, run):
    course = tmp_path / "course" / "repo"
    course.mkdir(parents=True)
    shared = tmp_path / "course" / "shared" / "quickdraw"
    shared.mkdir(parents=True)
    np.savez(shared / "owl.npz", images=np.zeros((3, 28, 28), np.uint8))
    env = {"COURSE_ROOT": str(course)}
    beside = run("list", env=env)
    assert beside.returncode == 0 and str(shared) in beside.stdout and "owl" in beside.stdout
    from_env = run("list", env={**env, "QUICKDRAW_SOURCE": str(tiny["source"])})
    assert "QUICKDRAW_SOURCE" in from_env.stdout and "dog" in from_env.stdout and "owl" not in from_env.stdout
    explicit = run("list", "--source", shared, env={**env, "QUICKDRAW_SOURCE": str(tiny["source"])})
    assert "owl" in explicit.stdout and "dog" not in explicit.stdout
    assert "dog 40 drawings" in " ".join(from_env.stdout.split())


def test_output_with_other_data_is_refused_and_force_keeps_it(tiny, prepare):
    tiny["out"].mkdir()
    (tiny["out"] / "thesis.tex").write_text("not ours")
    assert_one_line_error(prepare(tiny), "holds other data (thesis.tex)", "--force")
    assert sorted(os.listdir(tiny["out"])) == ["thesis.tex"]
    forced = prepare(tiny, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (tiny["out"] / "thesis.tex").read_text() == "not ours"
    assert (tiny["out"] / "homework" / "MANIFEST.json").is_file()


def test_different_parameters_need_force(tiny, prepare):
    assert prepare(tiny).returncode == 0
    before = (tiny["out"] / "homework" / "train.csv").read_text()
    assert_one_line_error(prepare(tiny, "--seed", "8"), "different parameters (changed: seed)", "--force")
    assert (tiny["out"] / "homework" / "train.csv").read_text() == before
    forced = prepare(tiny, "--seed", "8", "--force")
    assert forced.returncode == 0 and "homework: prepared" in forced.stdout
    assert (tiny["out"] / "homework" / "train.csv").read_text() != before


def test_unknown_dataset_and_bad_spec(tiny, tmp_path, run):
    proc = run("prepare", "everything", "--source", tiny["source"], "--spec", tiny["spec"])
    assert_one_line_error(proc, "no dataset 'everything'", "homework, competition, all")
    broken = tmp_path / "broken.json"
    broken.write_text('{"datasets": {"homework": {"classes": []}}}')
    proc = run("prepare", "all", "--source", tiny["source"], "--spec", broken)
    assert_one_line_error(proc, str(broken), "classes")


def test_help_describes_every_action(run):
    for action in ("prepare", "download", "list"):
        proc = run(action, "--help")
        assert proc.returncode == 0 and "--cache DIR" in proc.stdout
    assert "CC BY 4.0" in run("--help").stdout


def test_console_command_prints_one_line_without_traceback(tiny):
    """The real entry point (python -m autograder) in a fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUICKDRAW_")}

    def console(*args):
        return subprocess.run(
            [sys.executable, "-m", "autograder", "data", "quickdraw", *map(str, args)],
            capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
        )

    ok = console("list", "--source", tiny["source"])
    assert ok.returncode == 0 and "ant" in ok.stdout and ok.stderr == ""
    (tiny["source"] / "cow.npy").write_bytes(b"not numpy at all")
    proc = console("prepare", "homework", "--source", tiny["source"], "--spec", tiny["spec"], "--out", tiny["out"])
    assert_one_line_error(proc, "cow.npy", "corrupt")


def test_first_prepare_creates_a_private_secret_and_secret_file_reproduces(tiny, tmp_path, prepare):
    first = prepare(tiny)
    assert first.returncode == 0, first.stderr
    secret = tiny["out"] / "instructor" / "secret"
    assert f"Instructor secret: created {secret}" in first.stdout
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
    again = prepare(tiny)
    assert f"Instructor secret: {secret}" in again.stdout and "created" not in again.stdout
    assert "competition: up to date" in again.stdout

    copy = {**tiny, "out": tmp_path / "elsewhere"}
    assert prepare(copy, "--secret-file", secret).returncode == 0
    assert (copy["out"] / "instructor" / "secret").read_bytes() == secret.read_bytes()
    for name in ("instructor/competition_labels.csv", "instructor/homework_heldout.npz", "competition/test.csv",
                 "instructor/competition_verification_labels.csv"):
        assert (copy["out"] / name).read_bytes() == (tiny["out"] / name).read_bytes(), name

    fresh = {**tiny, "out": tmp_path / "fresh"}
    assert prepare(fresh).returncode == 0  # a new secret: other hidden sets, same training data
    assert (fresh["out"] / "competition/train.csv").read_bytes() == (tiny["out"] / "competition/train.csv").read_bytes()
    assert (fresh["out"] / "competition/test.csv").read_bytes() != (tiny["out"] / "competition/test.csv").read_bytes()
    assert_one_line_error(prepare(fresh, "--secret-file", secret), "holds a different secret", "Move it away")


def test_a_bad_secret_file_is_one_line(tiny, tmp_path, prepare):
    assert_one_line_error(prepare(tiny, "--secret-file", tmp_path / "missing"), "secret file", "not found")
    (tmp_path / "short").write_text("abc\n")
    assert_one_line_error(prepare(tiny, "--secret-file", tmp_path / "short"), "64 hexadecimal digits")
    assert not tiny["out"].exists()
