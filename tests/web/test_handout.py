"""What the course server hands out, in-process: the description that says what a notebook reads
(``[splits]``, ``hidden_checks = false``), the guards on the data zip, the listing of released
assignments, ``autograder serve``'s command line, and ``leaderboard serve`` left as it was."""

from __future__ import annotations

import io
import os
import shutil
import warnings
import zipfile
from pathlib import Path

import pytest

from autograder.classroom.handout import CourseHandouts, Handout
from autograder.errors import UserError
from autograder.grading.assignments import AssignmentSpec, describe, discover, is_graded, load_assignment
from autograder.leaderboard.database import database_url
from autograder.leaderboard.roster import RosterEntry
from autograder.leaderboard.scoring import AnswerKey
from autograder.leaderboard.store import Leaderboard
from autograder.web.app import create_app

with warnings.catch_warnings():  # Starlette nags about its httpx dependency on import
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]


def description(tmp_path: Path, toml: str, checks: bool = False) -> Path:
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "assignment.toml").write_text(toml)
    if checks:
        (folder / "test_demo.py").write_text("def test_nothing():\n    pass\n")
    return folder


def test_the_course_descriptions_say_which_splits_each_notebook_reads():
    assert describe("mlp_scratch").splits == {"homework": ("train", "valid")}
    assert describe("quickdraw_loader").splits == {"homework": ("train", "valid", "test")}
    competition = describe("competition")
    assert (competition.datasets, competition.splits, competition.hidden_checks) == (
        ("competition",), {"competition": ("train", "valid", "test")}, False)
    assert "competition" not in [spec.name for spec in discover()] and not is_graded("competition")
    plain = describe("not_described")  # reads only what is released beside it
    assert (plain.datasets, plain.hidden_checks) == ((), False)
    assert describe("../grading").datasets == ()


BROKEN = {
    'datasets = ["homework"]\n[splits]\nhomework = "train"\n': "[splits] must map datasets to lists of splits",
    'datasets = ["homework"]\n[splits]\nhomework = ["../instructor"]\n': "splits.homework must list distinct split names",
    'datasets = ["homework"]\n[splits]\nhomework = ["train", "train"]\n': "splits.homework must list distinct",
    'datasets = ["homework"]\n[splits]\nhomework = []\n': "splits.homework must list distinct",
    'datasets = ["homework"]\n[splits]\nlabels = ["train"]\n': "unknown dataset splits.labels",
    '[splits]\nhomework = ["train"]\n': "splits.homework names a dataset not in datasets",
    'hidden_checks = "no"\n': "hidden_checks must be true or false, not 'no'",
}


@pytest.mark.parametrize("toml", sorted(BROKEN))
def test_a_broken_splits_table_is_a_one_line_error_naming_the_file(tmp_path, toml):
    folder = description(tmp_path, toml, checks=True)
    with pytest.raises(UserError) as info:
        load_assignment(folder)
    text = str(info.value)
    assert text.startswith(f"{folder / 'assignment.toml'}: ") and BROKEN[toml] in text and "\n" not in text


def test_hidden_checks_false_means_no_checks_and_true_means_checks(tmp_path):
    with pytest.raises(UserError, match="says hidden_checks = false, but check files are beside it"):
        load_assignment(description(tmp_path, "hidden_checks = false\n", checks=True))
    shutil.rmtree(tmp_path / "demo")
    with pytest.raises(UserError, match="no hidden checks beside it"):
        load_assignment(description(tmp_path, "hidden_checks = true\n"))
    shutil.rmtree(tmp_path / "demo")
    description(tmp_path, 'hidden_checks = false\ndatasets = ["homework"]\n')
    assert discover(tmp_path) == [] and describe("demo", tmp_path).datasets == ("homework",)


def fake_data(root: Path, listed: dict[str, list[str]]) -> Path:
    """A prepared-data root: homework/ with classes.txt, one CSV per split listing ``listed``, and
    an instructor/ folder beside it."""
    homework = root / "homework"
    (homework / "train").mkdir(parents=True)
    (homework / "classes.txt").write_text("apple\nbicycle\n")
    (root / "instructor").mkdir()
    (root / "instructor" / "secret").write_bytes(b"instructor only")
    for split, names in listed.items():
        (homework / f"{split}.csv").write_text("filename,label\n" + "".join(f"{n},0\n" for n in names))
    (homework / "train" / "000000.png").write_bytes(b"png bytes")
    return root


def fake_course(root: Path, names=("demo",)) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    for name in names:
        (root / "assignments" / name).mkdir(parents=True)
        (root / "assignments" / name / f"{name}.ipynb").write_text("{}")
    return root


def handout_reading(course: Path, splits=None) -> Handout:
    spec = AssignmentSpec("demo", course, datasets=("homework",), splits=splits or {}, hidden_checks=False)
    return Handout("demo", {"demo.ipynb": course / "assignments" / "demo" / "demo.ipynb"}, None, spec)


@pytest.mark.parametrize("listed", ["../instructor/secret", "/etc/passwd", "train/../../instructor/secret",
                                    "train/link.png", "train/missing.png", "train"])
def test_a_csv_cannot_list_a_file_outside_its_dataset(tmp_path, listed):
    data = fake_data(tmp_path / "data", {"train": ["train/000000.png", listed]})
    (data / "homework" / "train" / "link.png").symlink_to(data / "instructor" / "secret")
    course = fake_course(tmp_path / "course")
    handouts = CourseHandouts(course, data)
    with pytest.raises(UserError, match="is not a file of this dataset"):
        handouts.data_files(handout_reading(course, {"homework": ("train",)}))


def test_a_linked_csv_or_classes_file_is_refused(tmp_path):
    data = fake_data(tmp_path / "data", {"train": ["train/000000.png"]})
    (data / "instructor" / "labels.csv").write_text("filename,label\ntrain/000000.png,1\n")
    course = fake_course(tmp_path / "course")
    handouts = CourseHandouts(course, data)
    for linked in ("valid.csv", "classes.txt"):
        (data / "homework" / linked).unlink(missing_ok=True)
        (data / "homework" / linked).symlink_to(data / "instructor" / "labels.csv")
        with pytest.raises(UserError, match=f"'{linked}' is not a file of this dataset"):
            handouts.data_files(handout_reading(course, {"homework": ("train", "valid")}))


def test_the_data_zip_is_the_listed_files_only_and_the_same_every_time(tmp_path):
    data = fake_data(tmp_path / "data", {"train": ["train/000000.png"], "valid": []})
    (data / "homework" / "train" / "not_listed.png").write_bytes(b"never handed out")
    (data / "homework" / "MANIFEST.json").write_text("{}")
    course = fake_course(tmp_path / "course")
    (course / "assignments" / "demo" / "points.csv").write_text("x\n")
    (course / "assignments" / "demo" / ".hidden").write_text("dot files stay home\n")
    handouts = CourseHandouts(course, data)
    handout = handout_reading(course, {"homework": ("train",)})
    with zipfile.ZipFile(io.BytesIO(handouts.data_zip(handout))) as archive:
        assert sorted(archive.namelist()) == ["data/homework/classes.txt", "data/homework/train.csv",
                                              "data/homework/train/000000.png", "points.csv"]
    first = handouts.data_zip(handout)
    assert handouts.data_zip(handout) == first == CourseHandouts(course, data).data_zip(handout)
    (data / "homework" / "train" / "000000.png").write_bytes(b"redrawn png")  # the next zip has the new file
    with zipfile.ZipFile(io.BytesIO(handouts.data_zip(handout))) as archive:
        assert archive.read("data/homework/train/000000.png") == b"redrawn png"
    with pytest.raises(UserError, match="has no split 'test'"):
        handouts.data_files(handout_reading(course, {"homework": ("test",)}))
    # without [splits]: every prepared split (a CSV with its folder); valid.csv has no folder here
    names = [item.name for item in handouts.data_files(handout_reading(course))]
    assert "data/homework/train.csv" in names and "data/homework/valid.csv" not in names


def test_only_folders_holding_a_notebook_are_released(tmp_path):
    course = fake_course(tmp_path, names=("xor", "activations"))
    for stray in (".release-xor-abc", "_drafts", "empty"):
        (course / "assignments" / stray).mkdir()
    (course / "assignments" / ".release-xor-abc" / "xor.ipynb").write_text("{}")
    (course / "assignments" / "_drafts" / "draft.ipynb").write_text("{}")
    handouts = CourseHandouts(course, tmp_path / "no-data")
    assert [h.name for h in handouts.released()] == ["xor", "activations"]  # course order, from the descriptions
    assert handouts.find("empty") is None and handouts.find(".release-xor-abc") is None
    assert all(h.due is None for h in handouts.released())  # no gradebook: no due dates, and none created
    assert not (course / "gradebook.db").exists()


def test_serve_refuses_a_course_whose_data_is_not_prepared(tmp_path):
    handouts = CourseHandouts(fake_course(tmp_path, names=("mlp_scratch",)), tmp_path / "no-data")
    with pytest.raises(UserError, match="mlp_scratch needs the prepared QuickDraw 'homework' data"):
        handouts.check()


def test_leaderboard_serve_keeps_its_app_without_the_homework(tmp_path):
    lb = Leaderboard(database_url(tmp_path / "lb.db"))
    lb.initialize(AnswerKey.from_arrays([f"q{i}" for i in range(8)], [i % 2 for i in range(8)],
                                        [i < 4 for i in range(8)], ("a", "b")))
    token = dict(lb.add_students([RosterEntry("alice")]))["alice"]
    with TestClient(create_app(lb)) as client:
        assert client.get("/api/assignments", headers={"Authorization": f"Bearer {token}"}).status_code == 404
        assert client.get("/assignments/xor/xor.ipynb", headers={"Authorization": f"Bearer {token}"}).status_code == 404
        login = client.post("/login", data={"token": token}, follow_redirects=False)
        assert login.headers["location"] == "/submit"
        assert 'href="/assignments"' not in client.get("/submit").text
    lb.dispose()


def test_serve_help_lists_its_options(run_cli):
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    for option in ("--db", "--host", "--port", "--course", "--data", "--workers", "default 127.0.0.1"):
        assert option in result.stdout
    assert "serve" in run_cli("--help").stdout


def test_a_bad_database_or_course_is_a_one_line_error(run_cli, tmp_path, course_folder, quickdraw_root):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database, " * 100)
    cases = [
        (["--db", tmp_path / "missing.db"], "no leaderboard database at"),
        (["--db", "bogus://somewhere"], "not a kind of database this course can use: 'bogus'"),
        (["--db", "postgresql://student:pw@127.0.0.1:1/course"], "cannot open the leaderboard database"),
        (["--db", garbage], "cannot open the leaderboard database sqlite:///"),
    ]
    for options, message in cases:
        result = run_cli("serve", *options, "--course", course_folder, "--data", quickdraw_root)
        assert result.returncode == 2, (options, result.stderr)
        assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1
        assert "pw@" not in result.stderr  # the password is not printed
    not_a_course = run_cli("serve", "--course", tmp_path, "--data", quickdraw_root)
    assert not_a_course.returncode == 2 and "no nbgrader_config.py in" in not_a_course.stderr
    unprepared = run_cli("serve", "--course", course_folder, "--data", tmp_path / "nothing")
    assert unprepared.returncode == 2 and "run `autograder data quickdraw prepare all`" in unprepared.stderr
    assert not any(name.startswith("AUTOGRADER_") for name in os.environ)  # refused before anything was set
