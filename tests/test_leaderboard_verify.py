"""``autograder leaderboard verify`` with the real grading sandbox: attached notebooks re-run
in bubblewrap with only the unlabeled competition folder, their predictions.csv read back."""

from __future__ import annotations

import json

import nbformat
import numpy as np
from test_leaderboard_support import csv_bytes, make_board, sqlite_url, synthetic_key, write_labels_csv

from autograder.cli import main

KEY = synthetic_key(n=200)

# A "model": label = last digit of the id modulo 5; reads the test ids the documented way.
HONEST = """
import csv, os
root = os.environ["QUICKDRAW_COMPETITION"]
with open(os.path.join(root, "test.csv"), newline="") as handle:
    ids = [row["id"] for row in csv.DictReader(handle)]
with open("predictions.csv", "w") as out:
    out.write("id,label\\n")
    for key in ids:
        out.write(f"{key},{int(key[-1]) % 5}\\n")
print(len(ids), "predictions written")
"""

# Submitted perfect labels; its notebook "reproduces" them by reading the instructor's file.
CHEATER = """
import shutil
shutil.copy({labels!r}, "predictions.csv")
"""


def notebook(code: str) -> bytes:
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])).encode()


def test_verify_reruns_notebooks_in_the_sandbox(tmp_path, capsys):
    competition = tmp_path / "competition"
    competition.mkdir()
    (competition / "test.csv").write_text("id,filename\n" + "".join(f"{key},test/{key}.png\n" for key in KEY.ids))
    labels = write_labels_csv(KEY, tmp_path / "instructor_labels.csv")
    url = sqlite_url(tmp_path)
    lb, tokens, _ = make_board(url, KEY, students=("honest", "cheater"))
    rule = np.array([int(key[-1]) % 5 for key in KEY.ids])
    lb.submit(lb.authenticate(tokens["cheater"]), csv_bytes(KEY, KEY.labels),
              notebook=notebook(CHEATER.format(labels=str(labels))))
    lb.submit(lb.authenticate(tokens["honest"]), csv_bytes(KEY, rule), notebook=notebook(HONEST))
    assert [row.student for row in lb.board()] == ["cheater", "honest"]

    code = main(["leaderboard", "verify", "--top", "1", "--db", url, "--competition-dir", str(competition),
                 "--timeout", "120", "--json"])
    outcomes = json.loads(capsys.readouterr().out)
    assert code == 0 and [(o["student"], o["status"]) for o in outcomes] == [
        ("cheater", "not_reproducible"), ("honest", "verified")]
    assert "no predictions.csv" in outcomes[0]["detail"]  # the labels file does not exist in there
    assert outcomes[1]["rerun_accuracy"] == outcomes[1]["submitted_accuracy"] == KEY.score(rule).overall
    assert "100.0% of predictions agree" in outcomes[1]["detail"]
    assert {row.student: row.verify_status for row in lb.board()} == {
        "cheater": "not_reproducible", "honest": "verified"}
    lb.dispose()
