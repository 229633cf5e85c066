"""`autograder export`: Canvas gradebook CSV (round trip against the gradebook) and the CSV of
`nbgrader export` (agreement with nbgrader's own exporter)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry

from tests.courses.legacy import ASSIGNMENT, db_url

CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


@pytest.fixture(scope="module")
def course(graded_class, tmp_path_factory) -> Path:
    """The graded class plus roster students: one who never submitted, one with a comma in the name."""

    root = tmp_path_factory.mktemp("export") / "course"
    shutil.copytree(graded_class.root, root)
    with Gradebook(db_url(root)) as gb:
        gb.update_or_create_student("absent", first_name="Ada", last_name="Absent", lms_user_id="98765")
        gb.update_or_create_student("partly", first_name="Pat", last_name="O'Neil, Jr.", email="pat@example.org")
        grade = gb.find_grade("why", ASSIGNMENT, ASSIGNMENT, "correct")
        grade.manual_score = 1.5  # a hand grade counts in the export
        gb.db.commit()
    return root


def read_canvas(path: Path) -> tuple[list[str], dict[str, str], dict[str, dict[str, str]]]:
    """Parse a Canvas gradebook CSV: (header, points-possible row, SIS login -> row)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, points = rows[0], dict(zip(rows[0], rows[1], strict=True))
    students = {row[3]: dict(zip(header, row, strict=True)) for row in rows[2:]}
    return header, points, students


def gradebook_scores(root: Path) -> tuple[dict[str, float | None], float]:

    scores = {}
    with Gradebook(db_url(root)) as gb:
        max_score = gb.find_assignment(ASSIGNMENT).max_score
        for student in gb.students:
            try:
                sub = gb.find_submission(ASSIGNMENT, student.id)
            except MissingEntry:
                scores[student.id] = None
            else:
                scores[student.id] = max(0.0, sub.score - sub.late_submission_penalty)
    return scores, max_score


@pytest.mark.parametrize("missing", ["zero", "blank"])
def test_canvas_csv_round_trips_against_the_gradebook(course, run_cli, tmp_path, missing):
    out = tmp_path / "canvas.csv"
    done = run_cli("export", "--out", out, "--missing", missing, "--canvas-id", f"{ASSIGNMENT}=4321",
                   env={"COURSE_ROOT": course})
    assert done.returncode == 0, done.stderr
    header, points, students = read_canvas(out)
    column = f"{ASSIGNMENT} (4321)"
    assert header == CANVAS_FIXED + [column]
    assert points["Student"] == "    Points Possible" and all(points[c] == "" for c in CANVAS_FIXED[1:])
    expected, max_score = gradebook_scores(course)
    assert float(points[column]) == max_score == 9
    assert set(students) == set(expected)  # one row per roster student, nobody else
    for student, score in expected.items():
        cell = students[student][column]
        if score is None:
            assert cell == ("0.0" if missing == "zero" else "")
        else:
            assert float(cell) == score
    assert students["correct"][column] == "8.5"
    assert students["absent"]["Student"] == "Absent, Ada" and students["absent"]["ID"] == "98765"
    assert students["partly"]["Student"] == "O'Neil, Jr., Pat"  # quoted, still one column


def test_csv_agrees_with_nbgrader_export(course, run_cli, tmp_path):
    ours = tmp_path / "ours.csv"
    done = run_cli("export", "--format", "csv", "--out", ours, env={"COURSE_ROOT": course})
    assert done.returncode == 0, done.stderr
    theirs = tmp_path / "theirs.csv"
    bin_dir = Path(sys.executable).parent
    # nbgrader writes names unquoted: give it a roster it can write (no comma in names)
    plain = tmp_path / "plain"
    shutil.copytree(course, plain)

    with Gradebook(db_url(plain)) as gb:
        gb.update_or_create_student("partly", last_name="ONeil")
    ours_plain = tmp_path / "ours_plain.csv"
    assert run_cli("export", "--format", "csv", "--out", ours_plain, env={"COURSE_ROOT": plain}).returncode == 0
    subprocess.run([str(bin_dir / "nbgrader"), "export", "--to", str(theirs)], cwd=plain, check=True,
                   capture_output=True, env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(plain)}, timeout=120)

    def rows(path):
        with open(path, newline="") as handle:
            return {(r["assignment"], r["student_id"]): r for r in csv.DictReader(handle)}

    mine, stock = rows(ours_plain), rows(theirs)
    assert set(mine) == set(stock) and len(mine) == 5
    for key, row in stock.items():
        for column, value in row.items():
            if column in ("raw_score", "late_submission_penalty", "score", "max_score"):
                assert float(mine[key][column]) == float(value), (key, column)
            else:
                assert mine[key][column] == value, (key, column)
    assert float(stock[(ASSIGNMENT, "correct")]["score"]) == 8.5
    assert set(rows(ours)) == set(stock)  # the un-simplified roster exports the same rows


def test_export_errors_are_one_line(course, run_cli, tmp_path):
    bad = run_cli("export", "--out", tmp_path / "x.csv", "--canvas-id", "xor=abc", env={"COURSE_ROOT": course})
    assert bad.returncode != 0 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
    unknown = run_cli("export", "--out", tmp_path / "x.csv", "--assignment", "nope", env={"COURSE_ROOT": course})
    assert unknown.returncode != 0 and "no assignment nope" in unknown.stderr
