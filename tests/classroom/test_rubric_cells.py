"""The graders' rubrics: the autograded notebook, and nbgrader's formgrader (a Jupyter server) that
opens it, show each manually graded cell's rubric, read from the solution notebook; no feedback a student gets does (ours and nbgrader's
``generate_feedback``: tests/classroom/test_feedback.py and test_gradebook.py), and a student who
writes a mark-scheme block or a rubric cell of their own keeps their text and fakes nothing."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import nbformat
import pytest
from nbgrader.api import Gradebook
from traitlets.config import Config

from autograder.classroom.course import Course
from autograder.classroom.feedback import write_feedback
from autograder.classroom.rubrics import MARK, course_rubrics, is_rubric_cell, read_rubrics, strips_rubrics
from autograder.local_server import free_port, stop_server
from tests.classroom.report_text import visible_text
from tests.courses.legacy import ASSIGNMENT, REPO, RUBRIC_CRITERION, answered, copy_course, grade, submit

FORGED_ANSWER = ("My own words: there is nothing to divide by.\n=== BEGIN MARK SCHEME ===\n"
                 "| the grader gives this answer full points | 2 |\n=== END MARK SCHEME ===\nStill my answer.")
FORGED_RUBRIC = "**Rubric of `why`**: full points for this student"


def _cells(path):
    return nbformat.read(path, as_version=4).cells


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _autograded(root, student):
    return root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


@pytest.fixture(scope="module")
def forger(released_course, tmp_path_factory):
    """A course with one graded student who wrote a mark-scheme block into their answer and added a
    markdown cell marked as a rubric cell."""
    root = copy_course(released_course, tmp_path_factory.mktemp("forger") / "course")
    nb = answered(root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", {"why": FORGED_ANSWER})
    why = next(i for i, cell in enumerate(nb.cells) if _grade_id(cell) == "why")
    fake = nbformat.v4.new_markdown_cell(FORGED_RUBRIC)
    fake.metadata[MARK] = "why"
    nb.cells.insert(why + 1, fake)
    submit(root, "forger", nb)
    grade(root, workers=1)
    return root


def test_the_autograded_notebook_has_the_solutions_rubric_right_after_the_manual_cell(graded_class):
    for student in graded_class.expected:
        cells = _cells(_autograded(graded_class.root, student))
        why = next(i for i, cell in enumerate(cells) if _grade_id(cell) == "why")
        rubric = cells[why + 1]
        assert is_rubric_cell(rubric) and rubric.metadata[MARK] == "why" and "nbgrader" not in rubric.metadata
        assert f"| {RUBRIC_CRITERION} | 1.5 |" in rubric.source and "**Rubric of `why`**" in rubric.source
        assert sum(map(is_rubric_cell, cells)) == 1, student  # one manual cell, one rubric
        assert len({cell.id for cell in cells}) == len(cells)  # nbformat's cell ids stay unique


@pytest.fixture(scope="module")
def formgrader(graded_class, tmp_path_factory):
    """nbgrader's formgrader (a Jupyter server of a copy of the graded class, on 127.0.0.1): its URL,
    token and the submission ids by student."""
    root = copy_course(graded_class.root, tmp_path_factory.mktemp("formgrader") / "course")
    with Gradebook(Course(root).db_url) as gb:
        ids = {s.student.id: s.id for s in gb.notebook_submissions(ASSIGNMENT, ASSIGNMENT)}
    port, token, bin_dir = free_port(), secrets.token_hex(16), Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(root.parent), "PYTHONPATH": str(REPO)}
    server = subprocess.Popen([str(bin_dir / "jupyter-server"), "--allow-root", "--no-browser", "--ip=127.0.0.1",
                               f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"],
                              cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    give_up = time.monotonic() + 120
    try:
        while server.poll() is None and time.monotonic() < give_up:
            try:
                httpx.get(f"{url}/api/status", params={"token": token}, timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert server.poll() is None, "the Jupyter server with formgrader did not start"
        yield SimpleNamespace(url=url, token=token, ids=ids)
    finally:
        stop_server(server)


def test_formgrader_shows_the_grader_the_rubric_beside_the_answer_and_grades_only_real_cells(formgrader):
    page = httpx.get(f"{formgrader.url}/formgrader/submissions/{formgrader.ids['correct']}/",
                     params={"token": formgrader.token}, timeout=60)
    assert page.status_code == 200
    html = page.text
    assert html.index("Because dividing by zero is undefined.") < html.index("<strong>Rubric of <code>why</code>")
    assert f"<td>{RUBRIC_CRITERION}</td>" in html and "<td>1.5</td>" in html  # rendered as a table
    assert html.count('class="score tabbable" id="why"') == 1  # the rubric cell gets no score box of its own
    listed = httpx.get(f"{formgrader.url}/formgrader/api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}",
                       params={"token": formgrader.token}, timeout=60).json()
    assert {s["student"]: s["max_score"] for s in listed} == dict.fromkeys(formgrader.ids, 9.0)


def test_a_student_writing_a_mark_scheme_or_a_rubric_cell_keeps_their_text_and_fakes_nothing(forger):
    cells = _cells(_autograded(forger, "forger"))
    why = next(i for i, cell in enumerate(cells) if _grade_id(cell) == "why")
    assert cells[why].source == FORGED_ANSWER  # nothing spliced out of, or into, the student's answer
    rubric = cells[why + 1]
    assert is_rubric_cell(rubric) and RUBRIC_CRITERION in rubric.source
    assert "full points" not in rubric.source
    theirs = cells[why + 2]
    assert theirs.source == FORGED_RUBRIC and not is_rubric_cell(theirs)  # kept, as their ordinary cell
    assert [c for c in cells if is_rubric_cell(c)] == [rubric]
    report = visible_text(write_feedback(Course(forger), ASSIGNMENT, out=forger / "out")[0])
    assert "My own words" in report and "Still my answer." in report and "full points for this student" in report
    assert RUBRIC_CRITERION not in report


def test_a_course_whose_generate_feedback_would_show_rubrics_gets_none(graded_class):
    assert strips_rubrics(Course(graded_class.root).config)  # this repo's nbgrader_config.py
    source = graded_class.root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert set(read_rubrics(source)) == {"why"}
    assert set(course_rubrics(source, Course(graded_class.root).config)) == {"why"}
    with pytest.warns(UserWarning, match="RemoveRubricCells"):
        assert course_rubrics(source, Config()) == {}
