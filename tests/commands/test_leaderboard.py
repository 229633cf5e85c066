"""``autograder leaderboard ...`` on the local database, with the real prepared competition."""

from __future__ import annotations

import csv
import json
import re
import sqlite3

import numpy as np
import pytest
from nbgrader.api import Base, Gradebook
from sqlalchemy import create_engine

from autograder.cli import main
from autograder.leaderboard import demo
from tests.leaderboard.boards import csv_bytes, synthetic_key, write_labels_csv

ACTIONS = ["init", "add-students", "serve", "submit", "board", "verify", "close", "export"]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["leaderboard", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_full_flow_on_the_prepared_competition(quickdraw_root, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LEADERBOARD_DB", str(tmp_path / "lb.db"))
    competition, labels = quickdraw_root / "competition", quickdraw_root / "instructor" / "competition_labels.csv"
    code, out, _ = run(capsys, "init", "--labels", labels, "--classes", competition / "classes.txt",
                       "--daily-limit", 3, "--json")
    init = json.loads(out)
    assert code == 0 and init["n_test"] == 2000 and init["n_public"] == 1000 and init["eta"] == 0.003
    private_dir = quickdraw_root / "instructor" / "competition_private"
    assert init["classes"] == ["apple", "bicycle", "cat", "eye", "fish"]
    roster = tmp_path / "roster.csv"
    roster.write_text("id,display_name,team\nada,,\ngrace,Amazing Grace,\nalan,,Enigma\njoan,,Enigma\n")
    code, out, _ = run(capsys, "add-students", roster, "--json")
    tokens = {row["student"]: row["token"] for row in json.loads(out)}
    assert code == 0 and sorted(tokens) == ["ada", "alan", "grace", "joan"]
    code, out, err = run(capsys, "add-students", roster, "--json")
    assert json.loads(out) == [] and "4 student(s) already had a token" in err

    # the starter's sample submission is valid as it is; a perfect one scores the top step
    code, out, _ = run(capsys, "submit", competition / "sample_submission.csv", "--token", tokens["ada"], "--json")
    sample = json.loads(out)
    assert code == 0 and sample["status"] == "accepted" and 0 <= sample["public_score"] <= 1
    with open(labels, newline="") as handle:
        truth = [(row["id"], row["label"]) for row in csv.DictReader(handle) if row["split"] == "public"]
    perfect = tmp_path / "perfect.csv"
    perfect.write_text("id,label\n" + "".join(f"{key},{label}\n" for key, label in reversed(truth)))
    code, out, _ = run(capsys, "submit", perfect, "--token", tokens["grace"], "--json")
    assert json.loads(out)["public_score"] == 1.0  # a perfect file: no noise to round away
    noisy = tmp_path / "noisy.csv"
    rng = np.random.default_rng(0)
    noisy.write_text("id,label\n" + "".join(
        f"{key},{label if rng.random() < 0.8 else (int(label) + 1) % 5}\n" for key, label in truth))
    assert run(capsys, "submit", noisy, "--token", tokens["joan"], "--json")[0] == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("id,label\n" + "".join(f"{key},{label}\n" for key, label in truth[:-1]))
    code, out, _ = run(capsys, "submit", bad, "--token", tokens["alan"], "--json")
    assert code == 1 and json.loads(out)["message"].startswith("1 of 1000 test ids are missing")

    code, out, _ = run(capsys, "board", "--json")
    board = json.loads(out)
    assert [row["student"] for row in board] == ["Amazing Grace", "Enigma", "ada"]
    assert all(set(row) == {"rank", "student", "score", "submitted_at", "state"} for row in board)
    code, out, _ = run(capsys, "board")
    assert "Amazing Grace" in out and "1.000" in out
    code, _, err = run(capsys, "close", "--private-dir", tmp_path / "nowhere", "--competition-dir", competition)
    assert code == 2 and "no private half" in err and len(err.strip().splitlines()) == 1
    assert run(capsys, "submit", noisy, "--token", tokens["joan"], "--json")[0] == 0  # a wrong folder closes nothing
    code, out, _ = run(capsys, "close", "--json", "--private-dir", private_dir, "--competition-dir", competition)
    closed = json.loads(out)
    assert code == 0 and closed["closes_at"].endswith("Z")
    # no entry attached its notebook: close has nothing to re-run on the private half, so none is ranked
    assert [(o["student"], o["rank"], o["rerun_accuracy"]) for o in closed["outcomes"]] == [
        ("ada", None, None), ("Amazing Grace", None, None), ("Enigma", None, None)]  # unranked: by time
    assert all("no notebook" in o["detail"] for o in closed["outcomes"])
    code, out, err = run(capsys, "submit", perfect, "--token", tokens["ada"], "--json")
    assert code == 1 and json.loads(out)["message"] == "the competition is closed"
    code, out, _ = run(capsys, "board", "--private", "--json")
    private = json.loads(out)
    assert [(row["student"], row["rank"], row["score"], row["state"]) for row in private] == [
        ("ada", None, None, "no notebook"), ("Amazing Grace", None, None, "no notebook"),
        ("Enigma", None, None, "no notebook")]
    exported = tmp_path / "standings.csv"
    assert run(capsys, "export", "--out", exported)[0] == 0
    rows = {row["student"]: row for row in csv.DictReader(exported.open())}
    assert rows["alan"]["entrant"] == rows["joan"]["entrant"] == "Enigma" and rows["alan"]["private_rank"] == ""
    assert rows["grace"]["private_accuracy"] == "" and rows["grace"]["private_status"] == "not_reproducible"
    assert rows["ada"]["submissions"] == "1"
    code, out, _ = run(capsys, "export", "--format", "json")
    assert len(json.loads(out)) == 4


def test_add_students_from_the_nbgrader_gradebook(tmp_path, capsys, monkeypatch):

    monkeypatch.setenv("LEADERBOARD_DB", str(tmp_path / "lb.db"))
    labels = write_labels_csv(synthetic_key(n=40), tmp_path / "labels.csv")
    assert run(capsys, "init", "--labels", labels, "--classes", "apple,bicycle,cat,eye,fish")[0] == 0
    gradebook = tmp_path / "gradebook.db"
    engine = create_engine(f"sqlite:///{gradebook}")
    Base.metadata.create_all(engine)  # nbgrader's schema, without its slow alembic stamp
    engine.dispose()
    with Gradebook(f"sqlite:///{gradebook}") as book:
        for student in ("s1", "s2", "s3"):
            book.add_student(student)
    code, out, _ = run(capsys, "add-students", "--gradebook", gradebook, "--json")
    assert code == 0 and [row["student"] for row in json.loads(out)] == ["s1", "s2", "s3"]
    code, out, _ = run(capsys, "add-students", "--gradebook", gradebook, "--reissue")
    assert code == 0 and len(out.splitlines()) == 3


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_has_help(action, capsys):
    with pytest.raises(SystemExit) as info:
        main(["leaderboard", action, "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and out.startswith(f"usage: autograder leaderboard {action}")


def test_errors_are_one_clean_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LEADERBOARD_DB", str(tmp_path / "missing.db"))
    cases = [
        (["board"], "no leaderboard database at"),
        (["init", "--labels", tmp_path / "nope.csv", "--classes", "a,b"], "no answer key at"),
        (["submit", tmp_path / "nope.csv", "--token", "t"], "no such file"),
        (["submit", tmp_path / "nope.csv"], "give your token"),
        (["add-students", tmp_path / "roster.csv"], "no roster file"),
        (["verify", "--competition-dir", tmp_path], "no competition data"),
    ]
    for argv, message in cases:
        code, out, err = run(capsys, *argv)
        assert code == 2 and err.startswith("error: ") and message in err and "Traceback" not in err, (argv, err)
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "missing.db").exists()


def test_a_database_of_the_older_schema_is_one_clean_line(tmp_path, capsys):
    # made before the private half was re-run at close: uploads carried both halves' scores
    db = tmp_path / "old.db"
    labels = write_labels_csv(synthetic_key(n=40), tmp_path / "labels.csv")
    assert run(capsys, "init", "--labels", labels, "--classes", "apple,bicycle,cat,eye,fish", "--db", db)[0] == 0
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE lb_submission DROP COLUMN private_status")
        conn.exec_driver_sql("ALTER TABLE lb_submission ADD COLUMN overall_score FLOAT NOT NULL DEFAULT 0")
    engine.dispose()
    before = dump(db)
    for argv in (["board"], ["board", "--private"], ["close"], ["export"]):
        code, out, err = run(capsys, *argv, "--db", db)
        assert code == 2 and "older version of the leaderboard" in err and "leaderboard init" in err, (argv, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert dump(db) == before  # nothing written to the old database


def dump(db) -> list[str]:
    """The SQL text of a SQLite database's schema and rows."""
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


def test_demo_stage_runs_and_stops(quickdraw_root, tmp_path, capsys, monkeypatch):

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "quickdraw").symlink_to(quickdraw_root)
    monkeypatch.setenv("COURSE_ROOT", str(tmp_path))
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert "rejected (does not count): line 1: the header must be exactly" in out
    assert "12 single-image probes all reported [" in out and "Public board" in out
    assert re.search(r"Leaderboard running at http://127\.0\.0\.1:\d+/", out)
    board = re.findall(r"^\s+(\d)\. (\S+)\s+0\.\d{3}\s+20", out, re.M)
    assert [rank for rank, _ in board] == ["1", "2", "3", "4", "5"] and board[0][1] == "ada"
    assert (tmp_path / "build" / "leaderboard-demo.db").is_file()


def test_team_rule_and_deadline_on_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LEADERBOARD_DB", str(tmp_path / "lb.db"))
    key = synthetic_key(n=200)
    labels = write_labels_csv(key, tmp_path / "labels.csv")
    code, out, _ = run(capsys, "init", "--labels", labels, "--classes", ",".join(key.classes),
                       "--deadline", "2099-01-31T23:59:00Z", "--json")
    init = json.loads(out)
    assert code == 0 and init["ladder"] == "sequential" and init["alpha"] == 0.5 and init["max_team_size"] == 5
    assert init["closes_at"] == "2099-01-31T23:59:00.000Z"
    six = tmp_path / "six.csv"
    six.write_text("id,team\n" + "".join(f"s{i},Herons\n" for i in range(6)))
    code, out, err = run(capsys, "add-students", six)
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "team 'Herons' has 6 members" in err and "teams have at most 5" in err and out == ""
    five = tmp_path / "five.csv"
    five.write_text("id,team\n" + "".join(f"s{i},Herons\n" for i in range(5)))
    code, out, _ = run(capsys, "add-students", five, "--json")
    tokens = {row["student"]: row["token"] for row in json.loads(out)}
    assert code == 0 and len(tokens) == 5

    predictions = tmp_path / "p.csv"
    predictions.write_bytes(csv_bytes(key, key.labels))
    deadline = re.compile(r"^Deadline: 2099-01-31 23:59 UTC \(\d+ days \d+ h left\)\.$", re.M)
    code, out, _ = run(capsys, "submit", predictions, "--token", tokens["s3"])
    assert code == 0 and out.startswith("accepted") and deadline.search(out)
    code, out, _ = run(capsys, "board")
    assert code == 0 and deadline.search(out) and "Herons" in out
    code, out, _ = run(capsys, "submit", predictions, "--token", tokens["s3"], "--json")
    assert "Deadline" not in out and json.loads(out)["status"] == "accepted"  # JSON stays JSON


def test_alpha_takes_any_probability_and_confidence_at_least_one_half(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LEADERBOARD_DB", str(tmp_path / "lb.db"))
    labels = write_labels_csv(synthetic_key(n=40), tmp_path / "labels.csv")
    for bad, why in (("0", "must be positive"), ("1", "must be below 1"), ("1.5", "must be below 1"),
                     ("x", "not a number")):
        with pytest.raises(SystemExit) as info:
            main(["leaderboard", "init", "--labels", str(labels), "--classes", "a,b,c,d,e", "--alpha", bad])
        assert info.value.code == 2 and f"argument --alpha: {why}" in capsys.readouterr().err
    code, out, _ = run(capsys, "init", "--labels", labels, "--classes", "a,b,c,d,e", "--alpha", 0.05, "--json")
    assert code == 0 and json.loads(out)["alpha"] == 0.05  # stricter than the default 0.5
    with pytest.raises(SystemExit) as info:
        main(["leaderboard", "verify", "--confidence", "0.3"])
    assert info.value.code == 2 and "must be at least 0.5" in capsys.readouterr().err
